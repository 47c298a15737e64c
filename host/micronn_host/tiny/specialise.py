"""Specialises the micro:bit program's real modules (tiny/board/) for one model, with ast.

The modules in tiny/board/ are ordinary Python that imports lib/micronn: run with a spec
module (program.spec_source) under CPython or MicroPython, they train and predict as the
board does.  For the board they are rewritten for the model, with no arithmetic changed:

- constants: the modules are imported on the host, and every module-level name bound to a
  plain value (a number, a string, bytes, or a tuple of those and lib/micronn functions) is
  a constant, written in where it is read; expressions of constants are computed, branches
  on them dropped, loops over them unrolled (fold.py), so loops over layers become one line
  per layer;
- per-layer lists (the module's LAYERED: name -> how many arrays the model has) become one
  name per layer: W[1] is W1, W passed or unpacked whole is W0, W1, ..., and a list the
  model does not have (B without biases) is None where indexed and nothing where whole;
- the functions a module lists in INLINE are written out where they are called: a call as a
  statement by the function's body (its locals renamed where the caller has the same names),
  a call in an expression by what it returns;
- what is no longer read goes: constants, functions, imports (keep: what the host calls).

The modules follow the rules this implies: no keyword arguments (minify), no global
statements, no module-level state but constants, functions only at the top, per-layer lists
indexed only by numbers known here, and names or constants as the arguments of INLINE
functions.
"""
import ast
import builtins
import copy
import sys
import types

from micronn.fold import Fold, Ref, SpecialiseError, is_doc, locals_of, reads, short, value


def program(spec_text, sources, keep):
    """Specialise the modules sources ([(name, text)] in import order; the last one is the one
    the host calls keep in) for the spec module's model.  Returns [(name, ast.Module, the
    lib/micronn names it reads)]; the modules import those `from micronn import ...`."""
    spaces = _import(spec_text, sources)
    names = [n for n, _ in sources]
    consts = {n: _constants(spaces[n]) for n in names}
    trees = {n: _strip(ast.parse(text), consts[n]) for n, text in sources}
    layered = {}
    for n in names:
        layered.update(spaces[n].get("LAYERED", {}))
    functions = {d.name for n in names for d in trees[n].body if isinstance(d, ast.FunctionDef)}
    for n in names:
        try:
            trees[n] = _specialise(trees[n], consts[n], spaces[n].get("INLINE", ()), layered, functions)
        except SpecialiseError as e:
            raise SpecialiseError("%s.py: %s" % (n, e))
    _prune(trees, names, names[-1], keep)
    out = []
    for n in names:
        tree, used = _imports(trees[n], n, names, consts[n])
        out.append((n, ast.fix_missing_locations(tree), used))
    return out


def _specialise(tree, consts, inline, layered, functions):
    _check(tree)
    tree = Fold(consts).visit(tree)
    if inline:
        tree = Fold(consts).visit(_inline(tree, inline))
    return _unreachable(_Flatten(layered, functions, _bound(tree)).visit(tree))


def _unreachable(tree):
    """Drop the statements after a return or raise (`if SHUFFLE: ... return` left in front of
    the return for the other case)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list):
                for i, st in enumerate(stmts):
                    if isinstance(st, (ast.Return, ast.Raise)):
                        del stmts[i + 1:]
                        break
    return tree


# -- the modules' values, from importing them on the host -----------------------------------------

def _import(spec_text, sources):
    """{module: namespace} of the spec module and the sources, imported on the host under
    their own names (for as long as that takes)."""
    names = ["spec"] + [n for n, _ in sources]
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    spaces = {}
    try:
        for name, text in [("spec", spec_text)] + list(sources):
            mod = types.ModuleType(name)
            sys.modules[name] = mod
            exec(compile(text, "<%s>" % name, "exec"), mod.__dict__)
            spaces[name] = dict(mod.__dict__)
    finally:
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(saved)
    return spaces


def _plain(v):
    """v as a constant (Ref for a lib/micronn function inside a tuple), or raise TypeError."""
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return v
    if isinstance(v, tuple):
        return tuple(_plain(e) if not callable(e) else _ref(e) for e in v)
    raise TypeError(type(v).__name__)


def _ref(fn):
    if not getattr(fn, "__module__", "").startswith("micronn."):
        raise TypeError("not a lib/micronn function")
    return Ref(fn)


def _constants(space):
    out = {}
    for name, v in space.items():
        if name.startswith("__"):
            continue
        try:
            out[name] = _plain(v)
        except TypeError:
            pass
    return out


def _strip(tree, consts):
    """The module without its docstring and without the statements that bind constants."""
    body = []
    for node in tree.body:
        if is_doc(node):
            continue
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id in consts for t in node.targets):
            continue
        body.append(node)
    tree.body = body
    return tree


def _check(tree):
    """The modules keep no state (no global statements), and have functions only at the top."""
    for n in ast.walk(tree):
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            raise SpecialiseError("`global %s`: the program's modules keep no state of their own"
                                  % ", ".join(n.names))
        if isinstance(n, ast.Lambda) or (isinstance(n, ast.FunctionDef) and n not in tree.body):
            raise SpecialiseError("line %d: a function inside a function (or a lambda)" % n.lineno)


# -- inlining -----------------------------------------------------------------------------------

def _inline(tree, names):
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names}
    missing = set(names) - set(defs)
    if missing:
        raise SpecialiseError("INLINE names %s, which the module does not define" % ", ".join(sorted(missing)))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name not in defs:
            _Inline(defs, locals_of(node)).visit(node)
    return tree


class _Args(ast.NodeTransformer):
    def __init__(self, args):
        self.args = args

    def visit_Name(self, node):
        if node.id not in self.args:
            return node
        new = copy.deepcopy(self.args[node.id])
        if not isinstance(node.ctx, ast.Load):
            if not isinstance(new, ast.Name):
                raise SpecialiseError("%s is assigned where it is written out, but the call passes %s"
                                      % (node.id, ast.unparse(new)))
            new.ctx = node.ctx
        return new


class _Inline(ast.NodeTransformer):
    """Calls to the functions in defs written out in a function whose locals are mine."""

    def __init__(self, defs, mine):
        self.defs, self.mine = defs, mine

    def _args(self, call):
        """The function called, and what its names become: its arguments the call's (names or
        constants), its other locals their own names or, where the caller has them too,
        name_function."""
        f = self.defs[call.func.id]
        params = [a.arg for a in f.args.args]
        if call.keywords or len(call.args) != len(params):
            raise SpecialiseError("%s: call it with its %d arguments" % (ast.unparse(call), len(params)))
        for a in call.args:
            if not isinstance(a, (ast.Name, ast.Constant)):
                raise SpecialiseError("%s: %s is written out there, so its arguments must be names or "
                                      "constants" % (ast.unparse(call), f.name))
        names = dict(zip(params, call.args))
        for v in sorted(locals_of(f) - set(params)):
            names[v] = ast.Name("%s_%s" % (v, f.name) if v in self.mine else v, ast.Load())
        return f, names

    def _ours(self, node):
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.defs

    def visit_Expr(self, node):
        if not self._ours(node.value):
            self.generic_visit(node)
            return node
        node.value.args = [self.visit(a) for a in node.value.args]
        f, args = self._args(node.value)
        if any(isinstance(n, ast.Return) for n in ast.walk(f)):
            raise SpecialiseError("%s returns a value: call it in an expression" % f.name)
        return [_Args(args).visit(copy.deepcopy(s)) for s in f.body]

    def visit_Call(self, node):
        self.generic_visit(node)
        if not self._ours(node):
            return node
        f, args = self._args(node)
        first = f.body[0]
        if not isinstance(first, ast.Return) or first.value is None:
            raise SpecialiseError("%s is called in an expression: once specialised it must start by "
                                  "returning a value" % f.name)
        return _Args(args).visit(copy.deepcopy(first.value))


# -- per-layer lists ----------------------------------------------------------------------------

def _bound(tree):
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}


class _Flatten(ast.NodeTransformer):
    """W[k] -> Wk, W whole -> W0, W1, ... for the per-layer lists in layered (name -> count);
    whole only in tuples, as arguments of the program's own functions and as parameters."""

    def __init__(self, layered, functions, taken):
        self.layered, self.functions = layered, functions
        for name, count in layered.items():
            for k in range(count):
                if name + str(k) in taken:
                    raise SpecialiseError("%s%d is a name of its own: per-layer list %s needs it" % (name, k, name))

    def _names(self, name, ctx):
        return [ast.Name("%s%d" % (name, k), ctx) for k in range(self.layered[name])]

    def visit_FunctionDef(self, node):
        try:
            self.generic_visit(node)
        except SpecialiseError as e:
            raise SpecialiseError("%s(): %s" % (node.name, e))
        return node

    def _ours(self, node):
        return isinstance(node, ast.Name) and node.id in self.layered

    def _spread(self, nodes):
        out = []
        for n in nodes:
            if self._ours(n):
                out += self._names(n.id, n.ctx)
            else:
                out.append(self.visit(n))
        return out

    def visit_Assign(self, node):
        """`W = [None] * L` (or several such in a tuple) only says W is a per-layer list."""
        targets = node.targets[0].elts if isinstance(node.targets[0], ast.Tuple) else node.targets
        if len(node.targets) == 1 and targets and all(self._ours(t) for t in targets):
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            if len(values) == len(targets) and all(_is_empty_list(v) for v in values):
                return None
        self.generic_visit(node)
        return node

    def visit_Tuple(self, node):
        node.elts = self._spread(node.elts)
        return node

    visit_List = visit_Tuple

    def visit_Call(self, node):
        if not (isinstance(node.func, ast.Name) and node.func.id in self.functions):
            self.generic_visit(node)        # len(W) would not mean len(W0, W1)
            return node
        node.args = self._spread(node.args)
        return node

    def visit_arguments(self, node):
        args = []
        for a in node.args:
            if a.arg in self.layered:
                args += [ast.arg("%s%d" % (a.arg, k)) for k in range(self.layered[a.arg])]
            else:
                args.append(a)
        node.args = args
        return node

    def visit_Subscript(self, node):
        if not self._ours(node.value):
            self.generic_visit(node)
            return node
        name = node.value.id
        ok, k = value(node.slice)
        if not ok or not isinstance(k, int) or k < 0:
            raise SpecialiseError("%s: a per-layer list is indexed by a layer number known for the model"
                                  % ast.unparse(node))
        if self.layered[name]:
            if k >= self.layered[name]:
                raise SpecialiseError("%s: the model has %d layers" % (ast.unparse(node), self.layered[name]))
            return ast.Name("%s%d" % (name, k), node.ctx)
        if not isinstance(node.ctx, ast.Load):
            raise SpecialiseError("%s: this model has no %s arrays" % (ast.unparse(node), name))
        return ast.Constant(None)

    def visit_Name(self, node):
        if node.id in self.layered:
            raise SpecialiseError("per-layer list %s: index it by a layer number, or pass it whole to the "
                                  "program's functions, in tuples and unpacking" % node.id)
        return node


def _is_empty_list(node):
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and isinstance(node.left, ast.List)
            and len(node.left.elts) == 1 and isinstance(node.left.elts[0], ast.Constant)
            and node.left.elts[0].value is None)


# -- what is left unread goes -------------------------------------------------------------------

def _defines(node):
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _prune(trees, names, entry, keep):
    """Drop the definitions and imported names nothing reads, until none is left."""
    changed = True
    while changed:
        changed = False
        wanted = {n: set(keep) if n == entry else set() for n in names}
        for n in names:
            for node in trees[n].body:
                if isinstance(node, ast.ImportFrom) and node.module in wanted:
                    read = reads(trees[n].body) | (set(keep) if n == entry else set())
                    wanted[node.module] |= {a.asname or a.name for a in node.names} & read
        for n in names:
            tree = trees[n]
            body = []
            for node in tree.body:
                others = [s for s in tree.body if s is not node]
                read = reads(others) | wanted[n]
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    kept = [a for a in node.names if (a.asname or a.name).split(".")[0] in read]
                    if len(kept) != len(node.names):
                        changed = True
                    if not kept:
                        continue
                    node.names = kept
                elif _defines(node) and not _defines(node) & read:
                    changed = True
                    continue
                body.append(node)
            tree.body = body


# -- imports for the board ------------------------------------------------------------------------

def _imports(tree, name, names, consts):
    """The module with its imports as the program has them: lib/micronn names in one import
    (`from micronn import a, b`, which program.build points at the kernels module), sibling
    modules by name, no spec, and the long constants it still reads bound at its top.  Returns
    (tree, the lib/micronn names it reads)."""
    lib, imports, siblings, rest = [], [], [], []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "micronn":
            lib += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module in names:
            siblings.append(node)
        elif isinstance(node, ast.ImportFrom) and node.module == "spec":
            continue                    # constants: written in, or bound below
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
        else:
            rest.append(node)
    read = reads(rest)
    defined = set().union(set(), *[_defines(n) for n in rest])
    # the lib/micronn functions that constants held (FORWARD, BACKWARD: the activations' kernels)
    refs = {v.name for c in consts.values() for v in _flat(c) if isinstance(v, Ref)}
    lib += sorted((read & refs) - set(lib) - defined)
    bind = [k for k in sorted(read & set(consts)) if not short(consts[k]) and k not in defined]
    head = imports + ([ast.ImportFrom("micronn", [ast.alias(x) for x in lib], 0)] if lib else []) + siblings
    known = set(dir(builtins)) | defined | set(bind) | {(a.asname or a.name).split(".")[0]
                                                         for n in head for a in n.names}
    for fn in rest:
        if isinstance(fn, ast.FunctionDef):
            unknown = reads([fn]) - known - locals_of(fn)
            if unknown:
                raise SpecialiseError("%s.%s reads %s, which the program does not have"
                                      % (name, fn.name, ", ".join(sorted(unknown))))
    tree.body = head + [ast.Assign([ast.Name(k, ast.Store())], ast.Constant(consts[k])) for k in bind] + rest
    return tree, lib


def _flat(v):
    if isinstance(v, tuple):
        for e in v:
            yield from _flat(e)
    else:
        yield v
