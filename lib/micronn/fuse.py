"""CPython: a dense network's training step for one sample (online SGD, or adding to the gradient
sums of a batch) and its predict as one function each, written out from the kernels' own source
for the network at hand.

On CPython a small network's time goes to calls, not arithmetic: the 3-4-1 network's online step
makes eleven kernel calls (the layers' products, activations, the loss, the updates), which cost
more than the 16 multiply-adds they do.  So Network asks this module for a function that does
the same work without them: the kernels of rows.py, kernels.py, losses.py and data.py, parsed from their
source files (ast), written out one after the other with the network's sizes, bias flags, loss and
activations as constants (fold.Fold: the branches on them go; loops of at most UNROLL items
become straight code; the others stay loops), their locals renamed apart.  Nothing of the math
is written here: the function is the kernels' code, and tests/test_fuse.py checks that it gives
their results bit for bit.  MicroPython never imports this (viper kernels there; the host does
not deploy it); without the kernels' source (a frozen or stripped install) it returns None and
Network calls the kernels as before.

The code for a shape is compiled once per process; each function made from it is bound to one
network's buffers (weights, outputs, deltas), so Network makes a new one when those change.
"""
import ast
import builtins
import copy
import sys

from . import activations, data, losses, rows
from .fold import Fold, SpecialiseError, locals_of, reads

# the input scaling, as Network._scaled does it (the network's scaler may change between calls)
_SCALE = "if _net.scaler is not None:\n    _net.scaler.apply(_x)"
UNROLL = 16         # loops over constants of at most this many items are written out
_codes = {}         # the compiled code of each network shape: key -> (code, names it binds)


class _Var:
    """A name of the function being written (a buffer or an argument), passed to a kernel."""

    def __init__(self, name):
        self.name = name


def _source(fn, defs):
    """fn's definition as a tree (found in its module's file by its first line, so that a
    function defined in one branch of an `if` is the one that runs): no decorators,
    annotations or docstring.  defs: the definitions found so far ((file, first line) -> tree),
    kept only while one function is written (the trees take hundreds of KB; not
    inspect.getsource either: importing inspect takes a megabyte)."""
    key = (fn.__code__.co_filename, fn.__code__.co_firstlineno)
    f = defs.get(key)
    if f is None:
        with open(key[0]) as src:
            tree = ast.parse(src.read())
        for f in ast.walk(tree):
            if isinstance(f, ast.FunctionDef) and f.name == fn.__name__ and key[1] in [f.lineno] + [
                    d.lineno for d in f.decorator_list]:
                break
        else:
            raise SpecialiseError("%s is not in %s" % (fn.__name__, key[0]))
        defs[key] = f
    f = copy.deepcopy(f)
    f.decorator_list = []
    for a in f.args.args:
        a.annotation = None
    if f.body and isinstance(f.body[0], ast.Expr) and isinstance(f.body[0].value, ast.Constant):
        f.body = f.body[1:]
    return f


def _locals(f):
    """The local names of function tree f, with those `except ... as name` binds."""
    return locals_of(f) | {n.name for n in ast.walk(f) if isinstance(n, ast.ExceptHandler) and n.name}


def _bound(stmts):
    """The names statements bind (assignments, loop targets, `except ... as`)."""
    nodes = [n for st in stmts for n in ast.walk(st)]
    return ({n.id for n in nodes if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
            | {n.name for n in nodes if isinstance(n, ast.ExceptHandler) and n.name})


class _Rename(ast.NodeTransformer):
    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        new = self.names.get(node.id)
        return node if new is None else ast.copy_location(ast.Name(new, node.ctx), node)

    def visit_ExceptHandler(self, node):
        self.generic_visit(node)
        if node.name in self.names:
            node.name = self.names[node.name]
        return node


class _Writer:
    """The body of one function, a kernel call at a time."""

    def __init__(self, own):
        self.body = []
        self.glob = {}          # the kernels' module-level names the body reads
        self.own = set(own)     # the function's own names (arguments and buffers)
        self.calls = 0
        self.defs = {}

    def call(self, fn, args, result=None):
        """Write fn(*args) out; args are _Vars or constants.  result: the name its return value
        (a return at its end, the only one left once folded) is assigned to."""
        f = _source(fn, self.defs)
        self.calls += 1
        tag = "_%d" % self.calls
        params = [a.arg for a in f.args.args]
        if len(params) != len(args):
            raise SpecialiseError("%s takes %d arguments" % (fn.__name__, len(params)))
        stored = {n.id for n in ast.walk(f) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        names, consts, pre = {}, {}, []
        for p, a in zip(params, args):
            if not isinstance(a, _Var):
                if p in stored:
                    raise SpecialiseError("%s assigns %s, which is given as a constant" % (fn.__name__, p))
                consts[p] = a
            elif p in stored:           # the kernel assigns it: a local of its own, bound first
                names[p] = p + tag
                pre.append(ast.Assign([ast.Name(p + tag, ast.Store())], ast.Name(a.name, ast.Load())))
            else:
                names[p] = a.name
        for v in _locals(f) - set(params):
            names[v] = v + tag
        self._globals(fn, reads(f.body) - _locals(f))
        fold = Fold(consts, UNROLL)
        body = fold._with(fold.env, pre + [_Rename(names).visit(s) for s in f.body])
        for i, st in enumerate(body):
            if isinstance(st, ast.Return):
                del body[i:]
                if result is not None and st.value is not None:
                    body.append(ast.Assign([ast.Name(result, ast.Store())], st.value))
                break
        if any(isinstance(n, ast.Return) for st in body for n in ast.walk(st)):
            raise SpecialiseError("%s returns before its end" % fn.__name__)
        unbound = reads(body) - _bound(body) - self.own - set(self.glob) - set(dir(builtins))
        if unbound:         # (a loop variable read after its loop was written out, say)
            raise SpecialiseError("%s, written out, reads %s" % (fn.__name__, ", ".join(sorted(unbound))))
        self.body += body

    def _globals(self, fn, free):
        space = vars(sys.modules[fn.__module__])
        for name in free:
            if name in self.own:
                raise SpecialiseError("%s reads a global %s, a name of the function" % (fn.__name__, name))
            if name in space:
                if name in self.glob and self.glob[name] is not space[name]:
                    raise SpecialiseError("%s means two things in the kernels" % name)
                self.glob[name] = space[name]
            elif not hasattr(builtins, name):
                raise SpecialiseError("%s reads %s, which its module does not have" % (fn.__name__, name))

    def function(self, name, args, returns):
        fn = ast.FunctionDef(name, ast.arguments([], [ast.arg(a) for a in args], None, [], [], None, []),
                             self.body + [ast.Return(ast.Name(returns, ast.Load()))], [], None)
        return ast.fix_missing_locations(ast.Module([fn], []))


def _buffers(net):
    """The names the functions give a network's buffers, and the buffers."""
    out = {"_x": net._x, "_xd": net._xd, "_t": net._t, "_net": net}
    for l, L in enumerate(net.layers):
        out.update({"_W%d" % l: L.W, "_b%d" % l: L.b, "_o%d" % l: L.out, "_d%d" % l: L.delta,
                    "_GW%d" % l: L.GW, "_Gb%d" % l: L.Gb})
    return out


def _key(net, what):
    return (what, net.dtype, tuple((L.n_in, L.n_out, L.has_b, L.activation) for L in net.layers))


def _forward_layers(w, net):
    inp = _Var("_x")
    for l, L in enumerate(net.layers):
        out = _Var("_o%d" % l)
        w.call(rows.dense_forward, [inp, _Var("_W%d" % l), _Var("_b%d" % l), L.has_b, L.n_in, L.n_out, out])
        w.call(activations.get(L.activation)[0], [out, L.n_out])
        inp = out


def _step_tree(net, loss, online):
    """step(xsrc, xoff, ysrc, yoff, s, lr): Network._sample's float path (the sample's targets
    and inputs loaded, rounded to the network's type, scaled; forward; the loss's delta;
    backward, with the step of online SGD, or adding the sample's gradient to the layers' sums
    when not online: lr is not read then); returns the sample's loss term."""
    own = ["xsrc", "xoff", "ysrc", "yoff", "s", "lr"] + list(_buffers(net))
    w = _Writer(own)
    layers = net.layers
    n_in, n_out, last = net.sizes[0], net.sizes[-1], len(layers) - 1
    w.call(rows.load_row, [_Var("ysrc"), _Var("yoff"), _Var("_t"), n_out])
    w.call(rows.load_row, [_Var("xsrc"), _Var("xoff"), _Var("_xd"), n_in])
    w.call(rows.load_row, [_Var("_xd"), 0, _Var("_x"), n_in])
    w.body += ast.parse(_SCALE).body
    _forward_layers(w, net)
    top, dtop = _Var("_o%d" % last), _Var("_d%d" % last)
    w.call(losses.output_delta, [loss, top, _Var("_t"), 0, n_out, dtop, _Var("s")], result="value_")
    if not losses.combined(loss):
        w.call(activations.get(layers[last].activation)[1], [dtop, top, n_out])
    for l in range(last, -1, -1):
        L = layers[l]
        inp, dprev, has_prev = (_Var("_o%d" % (l - 1)), _Var("_d%d" % (l - 1)), 1) if l else (_Var("_x"), None, 0)
        if online:
            w.call(rows.dense_backward_sgd, [inp, _Var("_W%d" % l), _Var("_b%d" % l), L.has_b, L.n_in, L.n_out,
                                             _Var("_d%d" % l), dprev, has_prev, _Var("lr")])
        else:
            w.call(rows.dense_backward_acc, [inp, _Var("_W%d" % l), _Var("_GW%d" % l), _Var("_Gb%d" % l), L.has_b,
                                             L.n_in, L.n_out, _Var("_d%d" % l), dprev, has_prev])
        if l:
            w.call(activations.get(layers[l - 1].activation)[1], [dprev, inp, L.n_in])
    return w.function("step", own[:6], "value_"), w.glob


def _predict_tree(net):
    """predict(x): Network.predict's float path for a sample x of the right length (its values
    checked and rounded to the network's dtype by data.copy_row, copied into the input buffer,
    scaled, the layers' forward pass); returns the last layer's outputs."""
    w = _Writer(["x"] + list(_buffers(net)))
    w.call(data.copy_row, [_Var("x"), 0, net.sizes[0], _Var("_xd"), 0, "input", None])
    w.call(rows.load_row, [_Var("_xd"), 0, _Var("_x"), net.sizes[0]])
    w.body += ast.parse(_SCALE).body
    _forward_layers(w, net)
    w.body.append(ast.Assign([ast.Name("out_", ast.Store())], ast.Name("_o%d" % (len(net.layers) - 1), ast.Load())))
    return w.function("predict", ["x"], "out_"), w.glob


def _made(net, key, tree):
    """The function of the tree for this network's buffers, or None if it cannot be written."""
    got = _codes.get(key)
    if got is None:
        try:
            mod, glob = tree()
            got = (compile(mod, "<micronn.fuse %s>" % key[0], "exec"), glob)
        except (OSError, TypeError, SyntaxError, SpecialiseError):     # no source to read, or not written out
            got = (None, None)
        _codes[key] = got
    code, glob = got
    if code is None:
        return None
    space = dict(glob)
    space.update(_buffers(net))
    exec(code, space)
    return space[key[0]]


def step(net, loss, online):
    """The network's step for one sample: online SGD, or adding to the gradient sums (see
    _step_tree); or None."""
    return _made(net, _key(net, "step") + (loss, online), lambda: _step_tree(net, loss, online))


def predict(net):
    """The network's predict for a sample of the right length (see _predict_tree), or None."""
    return _made(net, _key(net, "predict"), lambda: _predict_tree(net))
