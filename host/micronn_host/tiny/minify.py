"""Short names for the identifiers of a program bound for a board with a few KB of heap.

MicroPython interns every identifier it compiles as a qstr, kept for as long as the board
runs: in the micro:bit program, names were a quarter of its heap, and they fill pools that
double in size (one name too many opened a pool of 330 bytes).  rename() gives every
module-level name (except those the host calls) and every local variable and argument a
one- or two-letter name from one sequence, a, b, ..., z, aa, ...: module-level names in turn,
and each function's locals the first letters it does not read as a global, so that the same
few letters serve every function and the module-level names.  Only names change (attribute
names stay, keyword arguments are refused), so the renamed program computes exactly what the
original does; the tests run the renamed program.
"""
import ast
import builtins
import itertools
import keyword
import string


class MinifyError(Exception):
    pass


def _names():
    """a, b, ..., z, aa, ab, ... (not as, if, in, is, or: keywords)."""
    for n in itertools.count(1):
        for t in itertools.product(string.ascii_lowercase, repeat=n):
            if not keyword.iskeyword("".join(t)):
                yield "".join(t)


def _bound_at_top(tree):
    out = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.Try, ast.If)):
            for n in ast.walk(node):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    out.add(n.id)
                elif isinstance(n, ast.FunctionDef):
                    out.add(n.name)
                elif isinstance(n, ast.alias) and not isinstance(node, ast.Assign):
                    out.add(n.asname or n.name)
    return out


def rename(sources, keep=(), external=()):
    """The sources (module texts that import names from each other) with short names.

    keep: names others call (the host); external: modules and names that come from outside
    (math, struct, ...) and must stay."""
    trees = [ast.parse(s) for s in sources]
    fixed = set(keep) | set(external) | set(dir(builtins))
    tops = set().union(*[_bound_at_top(t) for t in trees]) - fixed
    for t in trees:
        for node in ast.walk(t):
            if isinstance(node, ast.Call) and node.keywords:
                raise MinifyError("keyword arguments (%s) would not survive renaming"
                                  % ", ".join(k.arg or "**" for k in node.keywords))
            if isinstance(node, ast.ImportFrom):          # from binascii import crc32 as _crc32
                fixed |= {a.asname for a in node.names if a.asname}
    gen = _names()
    glob = {}
    for name in sorted(tops):
        new = next(gen)
        while new in fixed:
            new = next(gen)
        glob[name] = new
    out = []
    for t in trees:
        _Renamer(glob, fixed).visit(t)
        out.append(ast.unparse(ast.fix_missing_locations(t)) + "\n")
    return out


class _Renamer(ast.NodeTransformer):
    def __init__(self, glob, fixed):
        self.glob, self.fixed = glob, fixed
        self.scopes = []            # one {old: new} per function being visited
        self.in_class = False

    def _lookup(self, name):
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return self.glob.get(name, name)

    def visit_FunctionDef(self, node):
        if not self.scopes and not self.in_class:
            node.name = self.glob.get(node.name, node.name)
        declared = {n for s in ast.walk(node) if isinstance(s, ast.Global) for n in s.names}
        local = [a.arg for a in node.args.args]
        for n in ast.walk(node):
            if n is node:
                continue
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id not in declared:
                local.append(n.id)
            elif isinstance(n, ast.FunctionDef):
                local.append(n.name)
        # the names this function reads from outside: its locals must not hide them
        outside = {self._lookup(n.id) for n in ast.walk(node) if isinstance(n, ast.Name) and n.id not in local}
        gen = _names()
        scope = {}
        for name in dict.fromkeys(local):
            new = next(gen)
            while new in self.fixed or new in outside:
                new = next(gen)
            scope[name] = new
        for a in node.args.args:
            a.arg = scope[a.arg]
        self.scopes.append(scope)
        saved, self.in_class = self.in_class, False
        node.body = [self.visit(b) for b in node.body]
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        self.in_class = saved
        self.scopes.pop()
        return node

    def visit_ClassDef(self, node):
        node.name = self.glob.get(node.name, node.name)
        saved, self.in_class = self.in_class, True
        self.generic_visit(node)          # method names are attributes: they stay
        self.in_class = saved
        return node

    def visit_Name(self, node):
        node.id = self._lookup(node.id)
        return node

    def visit_Global(self, node):
        node.names = [self.glob.get(n, n) for n in node.names]
        return node

    def visit_ImportFrom(self, node):
        if node.module not in ("math", "time", "binascii"):
            for a in node.names:
                a.name = self.glob.get(a.name, a.name)
        for a in node.names:
            if a.asname:
                a.asname = self.glob.get(a.asname, a.asname)
        return node
