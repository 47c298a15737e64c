"""Copies functions out of lib/micronn's source, with everything they use, as one module.

    src = extract(["dense_forward", "sigmoid", "output_delta"], known={"loss": "sse"})

The copies are lib/micronn's code with only this changed: decorators (@micropython.viper),
annotations and docstrings removed; `kernels.f` written `f`, and `from .kernels import f`
inside a function dropped (f is copied too); and, for arguments and module constants given in
`known` (a loss name, store.BIG_ENDIAN), the value substituted and the `if` branches that cannot run dropped (so
output_delta keeps only the sum-of-squares branch for loss="sse").  No arithmetic is
rewritten.  A class can be copied with only some of its methods (see `methods`).  What
lib/micronn keeps to so that this works is written in lib/micronn/kernels.py's docstring.
"""
import ast
import builtins
import copy
import operator
from pathlib import Path

import micronn

LIB = Path(micronn.__file__).resolve().parent
SEARCH = ("kernels", "losses", "optim", "store", "data", "rng", "network", "activations", "scale", "meta",
          "exact", "quant", "sizes")
STDLIB = ("array", "gc", "os", "struct")
MATH = ("exp", "log", "sqrt", "tanh")
_BUILTINS = set(dir(builtins))
# math.tanh is missing on the micro:bit's MicroPython 1.9: this stands in for it there only.
_TANH = '''try:
    from math import tanh
except ImportError:
    def tanh(v):
        z = exp(-2.0 * abs(v))
        return (1.0 - z) / (1.0 + z) if v >= 0.0 else (z - 1.0) / (1.0 + z)'''


class SourceError(Exception):
    pass


def extract(names, known=None, methods=None, have=()):
    """Module source defining the named lib/micronn functions (searched in SEARCH order) and
    all they use.  known: {argument: value} to reduce functions by; methods: {class: (names)}
    to copy of a class; have: names the module gets from elsewhere (it imports them), which
    are not copied."""
    g = _graph(names, known, methods, have)
    defined = set().union(*[_binds(n) for n in g.nodes]) if g.nodes else set()
    reads = set().union(*[_free_names(n) for n in g.nodes]) - defined if g.nodes else set()
    lines = []
    if reads & set(STDLIB):
        lines.append("import " + ", ".join(sorted(reads & set(STDLIB))))
    maths = sorted((g.math - {"tanh"}) | ({"exp"} if "tanh" in g.math else set()))
    if maths:
        lines.append("from math import " + ", ".join(maths))
    if "tanh" in g.math:
        lines.append(_TANH)
    return "\n".join(lines + [ast.unparse(n) for n in g.nodes]) + "\n"


def closure(names, known=None, methods=None):
    """The names extract(names, ...) defines: the named functions and all they use."""
    return [b for n in _graph(names, known, methods).nodes for b in sorted(_binds(n))]


def _graph(names, known, methods, have=()):
    g = _Graph(known or {}, methods or {})
    g.done.update(dict.fromkeys(have))
    for name in names:
        g.add_any(name)
    return g


_trees = {}


def _tree(mod):
    if mod not in _trees:
        path = LIB / (mod + ".py")
        _trees[mod] = ast.parse(path.read_text(), str(path))
    return _trees[mod]


def _module_aliases(mod):
    """Names under which module mod imports its sibling modules (`from . import kernels`)."""
    out = set()
    for node in _tree(mod).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None:
            out |= {a.asname or a.name for a in node.names}
    return out


def _is_docstring(node):
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _clean(node, aliases, refs):
    """Drop decorators, annotations and docstrings; write `kernels.f` as `f` for the module
    aliases given, noting in refs which module f came from."""
    node = _Flatten(set(aliases), refs).visit(node)
    for n in ast.walk(node):
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            n.decorator_list = []
            n.body = [b for b in n.body if not _is_docstring(b)] or [ast.Pass()]
        elif isinstance(getattr(n, "body", None), list) and not n.body:
            n.body = [ast.Pass()]           # it held only an import that went
        if isinstance(n, ast.FunctionDef):
            n.returns = None
            for a in n.args.args + n.args.kwonlyargs:
                a.annotation = None
    return ast.fix_missing_locations(node)


class _Flatten(ast.NodeTransformer):
    def __init__(self, aliases, refs):
        self.aliases, self.refs = aliases, refs

    def visit_ImportFrom(self, node):
        """`from .kernels import fill` inside a function: the copy uses fill, copied too."""
        if node.level != 1 or not node.module:
            return node
        for a in node.names:
            if a.asname not in (None, a.name):
                raise SourceError("from .%s import %s as %s: copies cannot rename" % (node.module, a.name, a.asname))
            self.refs[a.name] = node.module
        return None

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id in self.aliases:
            self.refs[node.attr] = node.value.id
            return ast.copy_location(ast.Name(node.attr, ast.Load()), node)
        return node


_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.In: lambda a, b: a in b,
        ast.NotIn: lambda a, b: a not in b}


class _Reduce(ast.NodeTransformer):
    """Substitute known names and drop the branches that cannot run."""

    def __init__(self, known):
        self.known = known

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.known:
            return ast.copy_location(ast.Constant(self.known[node.id]), node)
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1 or type(node.ops[0]) not in _CMP or not isinstance(node.left, ast.Constant):
            return node
        right = node.comparators[0]
        if isinstance(right, ast.Tuple) and all(isinstance(e, ast.Constant) for e in right.elts):
            value = tuple(e.value for e in right.elts)
        elif isinstance(right, ast.Constant):
            value = right.value
        else:
            return node
        return ast.copy_location(ast.Constant(_CMP[type(node.ops[0])](node.left.value, value)), node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Constant):
            return ast.copy_location(ast.Constant(not node.operand.value), node)
        return node

    def visit_If(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node


def _reduce(node, known):
    """Reduce a function for the values in known of its arguments and of the module-level names
    it reads (such as store.BIG_ENDIAN) named there."""
    if not isinstance(node, ast.FunctionDef):
        return node
    names = {a.arg for a in node.args.args} | _free_names(node)
    mine = {k: v for k, v in known.items() if k in names}
    if mine:
        node.body = _Reduce(mine).visit(ast.Module(node.body, [])).body
        for n in ast.walk(node):
            if isinstance(getattr(n, "body", None), list) and not n.body:
                n.body = [ast.Pass()]       # every branch in it went
    return ast.fix_missing_locations(node)


class _Graph:
    """lib/micronn definitions and everything they use, each after what it needs at import."""

    def __init__(self, known, methods):
        self.known, self.methods = known, methods
        self.done = {}          # name -> module it came from
        self.nodes = []
        self.math = set()

    def add_any(self, name):
        for mod in SEARCH:
            for node in _tree(mod).body:
                if name in _binds(node) and not isinstance(node, (ast.Import, ast.ImportFrom)):
                    return self.add(mod, name)
        raise SourceError("lib/micronn defines no %s" % name)

    def add(self, mod, name):
        if name in self.done:
            if self.done[name] not in (mod, None):
                raise SourceError("%s.%s and %s.%s share a name" % (mod, name, self.done[name], name))
            return
        node = next((n for n in _tree(mod).body if name in _binds(n)), None)
        if node is None:
            raise SourceError("lib/micronn/%s.py defines no %s" % (mod, name))
        node = copy.deepcopy(node)          # the parsed lib/micronn trees are shared
        if isinstance(node, ast.ClassDef) and name in self.methods:
            node = _pick(node, self.methods[name])
        refs = {}
        node = _reduce(_clean(node, _module_aliases(mod), refs), self.known)
        self.done[name] = mod
        for ref in sorted(_free_names(node)):
            if ref in refs:
                self.add(refs[ref], ref)
            else:
                self._resolve(mod, ref)
        self.nodes.append(node)

    def _resolve(self, mod, ref):
        """Add what `ref`, read in module mod, refers to; builtins and modules need nothing."""
        if ref in self.done or ref in STDLIB:
            return
        for node in _tree(mod).body:
            if ref not in _binds(node):
                continue
            if isinstance(node, ast.ImportFrom):
                if node.module == "math":
                    self.math.add(ref)
                elif node.level == 1:
                    self.add(node.module, ref)
            elif not isinstance(node, ast.Import):
                self.add(mod, ref)
            return


def _pick(cls, methods):
    """A copy of class cls with only the given methods."""
    keep = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name in methods]
    missing = set(methods) - {n.name for n in keep}
    if missing:
        raise SourceError("class %s has no %s" % (cls.name, ", ".join(sorted(missing))))
    return ast.copy_location(ast.ClassDef(cls.name, [], [], keep, []), cls)


def _binds(node):
    """Names a module-level statement defines."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.Try):
        out = set()
        for part in node.body + [s for h in node.handlers for s in h.body]:
            out |= _binds(part)
        return out
    return set()


def _free_names(node):
    """Global names a definition reads and does not define itself."""
    bound = set()
    for n in ast.walk(node):
        if isinstance(n, ast.arg):
            bound.add(n.arg)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            bound.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n is not node:
            bound.add(n.name)
        elif isinstance(n, ast.Global):
            bound |= set(n.names)
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return used - bound - _BUILTINS
