"""lib/micronn and host/micronn_host have no import cycles, and lib never imports the host.

Imports are read with `ast` from every module, at module level and inside functions alike (a
cycle through a function-level import still breaks on a board that imports in another order).
Imports by computed name (importlib.import_module) are not seen.
"""
import ast

from conftest import ROOT

PACKAGES = {"micronn": ROOT / "lib" / "micronn", "micronn_host": ROOT / "host" / "micronn_host"}


def modules(packages):
    """{dotted module name: path} of every .py file in each package's directory."""
    found = {}
    for package, root in packages.items():
        for path in sorted(root.rglob("*.py")):
            parts = [package] + list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported(name, path):
    """The absolute names module `name` (at path) imports: for `from m import x`, both m.x and m."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module
            if node.level:
                if node.level - 1 > len(package) - 1:
                    raise ValueError("%s: relative import beyond the top package" % path)
                parent = package[:len(package) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            names += [(base + "." + a.name, base) for a in node.names]
    return names


def graph(packages):
    """{module: set of modules of these packages it imports}.  `from p import x` is an edge to
    p.x when that is a module (`from . import store`), else to p; `import a.b.c` of a module
    that is not a file here goes to its nearest enclosing module that is."""
    mods = modules(packages)

    def known(dotted):
        while dotted and dotted not in mods:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    edges = {}
    for name, path in mods.items():
        targets = set()
        for full, base in imported(name, path):
            target = full if full in mods else known(base if base is not None else full)
            if target and target != name:
                targets.add(target)
        edges[name] = targets
    return edges


def find_cycles(edges):
    """Cycles met by a depth-first search, each as [a, b, ..., a]; none exactly when the graph
    has no cycle (every cycle has a back edge)."""
    cycles, state, stack = [], {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == "open":
                cycles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = "done"

    for n in sorted(edges):
        if n not in state:
            visit(n)
    return cycles


def test_lib_and_host_have_no_import_cycles():
    cycles = find_cycles(graph(PACKAGES))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_lib_never_imports_the_host():
    bad = ["%s imports %s" % (name, full)
           for name, path in modules({"micronn": PACKAGES["micronn"]}).items()
           for full, base in imported(name, path)
           if (base or full).split(".")[0] == "micronn_host"]
    assert not bad, bad


def test_the_graph_sees_imports_inside_functions_and_relative_ones():
    """Known arrows of docs/architecture.md: the check reads real edges, not an empty graph."""
    edges = graph(PACKAGES)
    assert "micronn.model" in edges["micronn"]                    # inside micronn.load()
    assert "micronn.store" in edges["micronn.model"]
    assert "micronn.kernels" in edges["micronn.activations"]
    assert "micronn._upy" in edges["micronn.kernels"]              # from . import _upy (a module)
    assert "micronn_host.commands" in edges["micronn_host.cli"]
    assert "micronn.losses" in edges["micronn_host.tiny.program"]


def test_find_cycles_on_small_graphs():
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": {"a"}, "c": {"c"}}) == [["a", "b", "a"], ["c", "c"]]


def test_a_cycle_through_a_relative_import_in_a_function_is_found(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("def f():\n    from . import sub\n    return sub\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from .. import a\nfrom ..a import f\n")
    (pkg / "c.py").write_text("import pkg.sub.b\nfrom pkg import f\n")
    edges = graph({"pkg": pkg})
    assert edges == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.sub"}, "pkg.sub": set(),
                     "pkg.sub.b": {"pkg.a"}, "pkg.c": {"pkg.sub.b", "pkg"}}
    assert find_cycles(edges) == []
    (pkg / "a.py").write_text("def f():\n    from .sub.b import g\n    return g\n")
    assert find_cycles(graph({"pkg": pkg})) == [["pkg.a", "pkg.sub.b", "pkg.a"]]
