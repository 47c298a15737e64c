"""store.check reads a .mnn file through without keeping its weights (what a board does for
`micronn info`) and tells a whole model from a truncated or corrupted one, on both runtimes."""

CODE = """
import json, micronn
from micronn import store
net = micronn.Network([3, 5, 2], seed=1)
net.save(%(path)r)
whole = open(%(path)r, 'rb').read()
flipped = bytearray(whole)
flipped[40] ^= 1
named = micronn.Network([3, 5, 2], seed=1)
named.set_meta({'inputs': ['a', 'b', 'c'], 'summary': {'epochs': 5}})
named.save(%(path)r)
sections = open(%(path)r, 'rb').read()
broken = bytearray(sections)
broken[sections.find(b'{"epochs"')] = ord('x')     # a changed byte that leaves a section unreadable
cases = {'ok': whole, 'cut': whole[:50], 'nocrc': whole[:-4], 'header': whole[:9],
         'flip': bytes(flipped), 'long': whole + b'x', 'junk': b'hello world', 'section': bytes(broken),
         'sections': sections}
out = {}
for name, data in cases.items():
    with open(%(path)r, 'wb') as f:
        f.write(data)
    try:
        with open(%(path)r, 'rb') as f:
            info, state, msg = store.check(f, name)
        out[name] = [state, msg, info.get('file_size'), info.get('n_params'), len(whole)]
    except ValueError as e:
        out[name] = ['ValueError', str(e)]
print(json.dumps(out))
"""


def test_check_tells_whole_truncated_and_corrupted_models_apart(rt, tmp_path):
    got = rt.run(CODE % {"path": str(tmp_path / "m.mnn")})
    size = got["ok"][4]
    assert got["ok"][:4] == ["ok", None, size, 3 * 5 + 5 + 5 * 2 + 2]
    assert got["cut"][0] == "truncated" and "the weights stop early" in got["cut"][1]
    assert got["cut"][2] == size
    assert got["nocrc"][0] == "truncated" and "the CRC at the end is missing" in got["nocrc"][1]
    assert got["flip"][0] == "CRC mismatch" and "corrupted: CRC mismatch" in got["flip"][1]
    assert got["sections"][0] == "ok"
    # its CRC tells that the file changed, whatever part of it no longer reads
    assert got["section"][:2] == ["CRC mismatch", "section: corrupted: CRC mismatch (corrupted: the training "
                                                  "summary is not JSON)"], got["section"]
    assert got["header"][:3] == ["truncated", "header: truncated: the header stops inside the layer table", None]
    for name, words in (("long", "unexpected data after the end"), ("junk", "not a micronn model")):
        assert got[name][0] == "ValueError" and words in got[name][1], got[name]
