"""Constants in, branches out, loops unrolled: what a piece of code computes from constants
alone, worked out on its syntax tree (CPython only: boards never import it).

    tree = Fold({"L": 2, "SIZES": (3, 4, 1)}).visit(tree)

Fold writes each constant in where it is read (a string or bytes longer than SHORT stays a
name: MicroPython would keep a copy per use), computes the expressions of constants (+, -, *,
//, %, comparisons, not, and/or, len, indexing), keeps only the branch of an if that runs,
and unrolls a for loop or a list comprehension over a constant range or tuple (or a tuple of
names and constants such as (W[l], B[l])) into one copy of its body per item.  It refuses what
unrolling would change: a break or continue, a loop variable read after the loop.  With a
`limit`, it unrolls only loops of at most that many items and without a break or continue,
and leaves the others as loops.

Used by the micro:bit program's maker (micronn_host.tiny.specialise) and by micronn.fuse.
"""
import ast
import copy
import operator

SHORT = 10      # strings and bytes up to this long are interned by MicroPython: copies are free


class SpecialiseError(Exception):
    pass


class Ref:
    """A lib/micronn function as a constant (in a spec tuple such as FORWARD)."""

    def __init__(self, fn):
        self.name = fn.__name__


def expr(v):
    """The expression for a constant."""
    if isinstance(v, Ref):
        return ast.Name(v.name, ast.Load())
    if isinstance(v, tuple) and any(isinstance(e, (Ref, tuple)) for e in v):
        return ast.Tuple([expr(e) for e in v], ast.Load())
    return ast.Constant(v)


def value(node):
    """(True, value) when node is a constant expression (Refs for names of lib functions it
    was made from are not constants), else (False, None)."""
    if isinstance(node, ast.Constant):
        return True, node.value
    if isinstance(node, ast.Tuple):
        vals = [value(e) for e in node.elts]
        if all(ok for ok, _ in vals):
            return True, tuple(v for _, v in vals)
    return False, None


def short(v):
    return not isinstance(v, (str, bytes)) or len(v) <= SHORT


def is_doc(node):
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _breaks(stmts):
    """Whether the statements break or continue the loop they are in."""
    for s in stmts:
        if isinstance(s, (ast.Break, ast.Continue)):
            return True
        if not isinstance(s, (ast.For, ast.While)) and _breaks([c for c in ast.iter_child_nodes(s)
                                                               if isinstance(c, ast.stmt)]):
            return True
    return False


def _pure(node):
    """Whether copies of the expression compute what it does (names, constants, W[l])."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Subscript):
        return _pure(node.value) and _pure(node.slice)
    return isinstance(node, ast.Tuple) and all(_pure(e) for e in node.elts)


def reads(nodes):
    return {n.id for s in nodes for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


# -- constants in, branches out, loops unrolled ---------------------------------------------------

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
        ast.Mod: operator.mod}
_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
        ast.NotIn: lambda a, b: a not in b, ast.Is: operator.is_, ast.IsNot: operator.is_not}


def locals_of(fn):
    names = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    for n in ast.walk(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.add(n.id)
    return names


class Fold(ast.NodeTransformer):
    """Substitute the constants in env (name -> value) and fold; see the module docstring."""

    def __init__(self, consts, limit=None):
        self.env = {k: expr(v) for k, v in consts.items()}
        self.big = {k for k, v in consts.items() if not short(v)}
        self.limit = limit

    def _with(self, env, nodes):
        saved, self.env = self.env, env
        try:
            out = []
            for n in nodes:
                r = self.visit(n)
                if r is None:
                    continue
                out.extend(r if isinstance(r, list) else [r])
            return out
        finally:
            self.env = saved

    def visit_FunctionDef(self, node):
        mine = locals_of(node)
        body = [b for b in node.body if not is_doc(b)]
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.body = self._with({k: v for k, v in self.env.items() if k not in mine}, body) or [ast.Pass()]
        lost = (reads(node.body) & mine) - locals_of(node)
        if lost:
            raise SpecialiseError("%s() reads %s after the loop that binds it is unrolled"
                                  % (node.name, ", ".join(sorted(lost))))
        return node

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.env and node.id not in self.big:
            return copy.deepcopy(self.env[node.id])
        return node

    def visit_Call(self, node):
        f, args = node.func, node.args
        if (isinstance(f, ast.Name) and f.id == "len" and len(args) == 1 and isinstance(args[0], ast.Name)
                and args[0].id in self.big and args[0].id in self.env):
            return ast.Constant(len(self.env[args[0].id].value))
        self.generic_visit(node)
        if isinstance(f, ast.Name) and f.id == "len" and len(node.args) == 1:
            ok, v = value(node.args[0])
            if ok:
                return ast.Constant(len(v))
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        ok, i = value(node.slice)
        if not ok or not isinstance(i, int) or not isinstance(node.ctx, ast.Load):
            return node
        if isinstance(node.value, ast.Tuple) and -len(node.value.elts) <= i < len(node.value.elts):
            return node.value.elts[i]
        ok, v = value(node.value)
        if ok and isinstance(v, (tuple, str, bytes)) and -len(v) <= i < len(v):
            return expr(v[i])
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        (a, x), (b, y) = value(node.left), value(node.right)
        if a and b and type(node.op) in _BIN:
            try:
                return ast.Constant(_BIN[type(node.op)](x, y))
            except (TypeError, ValueError, ArithmeticError):     # as it runs: it raises there
                return node
        left = node.left            # p + " is a " + "3-4-1": one string
        if (b and isinstance(y, str) and isinstance(node.op, ast.Add) and isinstance(left, ast.BinOp)
                and isinstance(left.op, ast.Add) and isinstance(value(left.right)[1], str)):
            return ast.BinOp(left.left, ast.Add(), ast.Constant(left.right.value + y))
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        ok, v = value(node.operand)
        if ok and isinstance(node.op, ast.Not):
            return ast.Constant(not v)
        if ok and isinstance(node.op, ast.USub) and isinstance(v, (int, float)):
            return ast.Constant(-v)
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1 or type(node.ops[0]) not in _CMP:
            return node
        (a, x), (b, y) = value(node.left), value(node.comparators[0])
        if a and b:
            try:
                return ast.Constant(_CMP[type(node.ops[0])](x, y))
            except TypeError:       # (1 < "a"): as it runs
                return node
        return node

    def visit_BoolOp(self, node):
        """Constants that do not decide go; one that does ends the expression."""
        self.generic_visit(node)
        stop = isinstance(node.op, ast.Or)       # the value that decides an `or`
        vals = []
        for v in node.values:
            ok, x = value(v)
            if ok and bool(x) == stop:
                vals.append(v)
                break
            if not (ok and v is not node.values[-1]):
                vals.append(v)
        return vals[0] if len(vals) == 1 else ast.BoolOp(node.op, vals)

    def visit_IfExp(self, node):
        node.test = self.visit(node.test)
        ok, v = value(node.test)
        if ok:
            return self.visit(node.body if v else node.orelse)
        self.generic_visit(node)
        return node

    def visit_If(self, node):
        node.test = self.visit(node.test)
        ok, v = value(node.test)
        if ok:
            return self._with(self.env, node.body if v else node.orelse)
        node.body = self._with(self.env, node.body) or [ast.Pass()]
        node.orelse = self._with(self.env, node.orelse)
        return node

    def _items(self, node):
        """The items of a constant iterable, as expressions, or None."""
        if isinstance(node, (ast.Tuple, ast.List)):
            return node.elts if all(_pure(e) for e in node.elts) else None
        ok, v = value(node)
        if ok and isinstance(v, tuple):
            return [expr(e) for e in v]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
            args = [value(a) for a in node.args]
            if all(ok for ok, _ in args) and not node.keywords:
                return [ast.Constant(i) for i in range(*[v for _, v in args])]
        return None

    def _bind(self, target, item):
        if isinstance(target, ast.Name):
            return {target.id: item}
        if isinstance(target, ast.Tuple):
            parts = self._items(item)
            if parts is not None and len(parts) == len(target.elts):
                out = {}
                for t, p in zip(target.elts, parts):
                    out.update(self._bind(t, p))
                return out
        raise SpecialiseError("cannot unroll a loop binding %s to %s" % (ast.unparse(target), ast.unparse(item)))

    def visit_For(self, node):
        node.iter = self.visit(node.iter)
        items = self._items(node.iter)
        if items is None or node.orelse or (self.limit is not None and (len(items) > self.limit
                                                                        or _breaks(node.body))):
            node.body = self._with(self.env, node.body) or [ast.Pass()]
            node.orelse = self._with(self.env, node.orelse)
            return node
        if _breaks(node.body):
            raise SpecialiseError("cannot unroll `for %s in ...`: it has a break or continue"
                                  % ast.unparse(node.target))
        out = []
        for item in items:
            env = dict(self.env)
            env.update(self._bind(node.target, item))
            out += self._with(env, copy.deepcopy(node.body))
        return out

    def visit_ListComp(self, node):
        out = self._expand(node.elt, node.generators, self.env)
        if out is None:                 # not over constants: a loop on the board too
            self.generic_visit(node)
            return node
        return ast.List(out, ast.Load())

    def _expand(self, elt, gens, env):
        """The items of [elt for ... in gens] under env, or None when an iterable is not constant."""
        if not gens:
            return [e.value for e in self._with(env, [ast.Expr(copy.deepcopy(elt))])]
        g = gens[0]
        if g.ifs or g.is_async:
            return None
        saved, self.env = self.env, env
        try:
            items = self._items(self.visit(copy.deepcopy(g.iter)))
        finally:
            self.env = saved
        if items is None or (self.limit is not None and len(items) > self.limit):
            return None
        out = []
        for item in items:
            inner = dict(env)
            inner.update(self._bind(g.target, item))
            rest = self._expand(elt, gens[1:], inner)
            if rest is None:
                return None
            out += rest
        return out
