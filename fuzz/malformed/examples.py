#!/usr/bin/env python3
"""Writes one malformed input per class under a folder and runs the `conform` CLI on each,
printing the Markdown table of README.md's `## Malformed input` section: class, trigger,
the message the CLI prints and its exit status.

    python3 fuzz/malformed/examples.py [CONFORM_BINARY] [OUT_DIR]

Defaults: target/debug/conform, /tmp/conform-malformed. The valid base model is the `TINY` IR of
reference/ir/tests/malformed.rs (Parameter x[1,2] + Const c[1,2] -> Add -> Result). IR files
are read with `conform inspect FILE.xml`, `.npy` files with
`conform infer tiny.xml --input FILE.npy --out out`, both run inside OUT_DIR so the messages
name the files relatively, as a user running from that folder sees them.
"""
import os, re, struct, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
conform = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(root, "target/debug/conform")
out = sys.argv[2] if len(sys.argv) > 2 else "/tmp/conform-malformed"
os.makedirs(out, exist_ok=True)
src = open(os.path.join(root, "reference/ir/tests/malformed.rs")).read()
TINY = re.search(r'const TINY: &str = r#"(.*?)"#;', src, re.S).group(1)
BIN = struct.pack("<2f", 1.0, 2.0)


def w(frm, to, base=None):
    base = TINY if base is None else base
    assert base.count(frm) == 1, frm
    return base.replace(frm, to, 1)


DIM_X = 'names="x">\n\t\t\t\t\t<dim>1</dim>'
deep = "<a>" * 200 + "</a>" * 200
# (file stem, class, trigger, xml bytes or str, bin bytes or None)
IR = [
    ("empty", "empty file", "a 0-byte `model.xml`", "", BIN),
    ("garbage", "binary data instead of XML", "bytes `00 ff fe 93`", b"\x00\xff\xfe\x93NUMPY", BIN),
    ("text", "plain text, not XML", "`hello`", "hello world\n", BIN),
    ("truncated", "truncated XML", "the file cut in the middle of `<edges>`", TINY[: TINY.index("<edges>") + 20], BIN),
    ("mismatched", "mismatched closing tag", "`</edgez>` closing `<edges>`", w("\t</edges>", "\t</edgez>"), BIN),
    ("control", "control character in the XML", "a NUL byte in an attribute", w('name="add"', 'name="a\x00d"'), BIN),
    ("entity", "undefined entity", "`name=\"a&bogus;\"`", w('name="add"', 'name="a&bogus;"'), BIN),
    ("dupattr", "attribute written twice", "`<data auto_broadcast=\"numpy\" auto_broadcast=\"none\" />`",
     w('<data auto_broadcast="numpy" />', '<data auto_broadcast="numpy" auto_broadcast="none" />'), BIN),
    ("badname", "attribute name that is not an XML name", "`<data @x=\"1\" ...>`",
     w('<data auto_broadcast="numpy" />', '<data @x="1" auto_broadcast="numpy" />'), BIN),
    ("notir", "XML that is not an IR", "root element `<html>`", "<html><body/></html>\n", BIN),
    ("noversion", "`<net>` without `version`", "`<net name=\"tiny\">`", w('<net name="tiny" version="11">', '<net name="tiny">'), BIN),
    ("version7", "unsupported IR version", "`<net version=\"7\">`", w('version="11">', 'version="7">'), BIN),
    ("nolayers", "no `<layers>` section", "`<net>` with only `<edges>`",
     TINY[: TINY.index("\t<layers>")] + TINY[TINY.index("\t<edges>"):], BIN),
    ("preprocess", "legacy `<pre-process>` section", "`<pre-process reference-layer-name=\"x\" />`",
     w("\t<rt_info />", '\t<pre-process reference-layer-name="x" />'), BIN),
    ("deep", "over-deep XML nesting (limit 128)", "200 nested `<a>` in `<rt_info>`", w("\t<rt_info />", "\t<rt_info>" + deep + "</rt_info>"), BIN),
    ("longattr", "over-long attribute (limit 4 MiB)", "a 4 MiB + 1 layer name",
     w('name="add"', 'name="' + "a" * ((4 << 20) + 1) + '"'), BIN),
    ("notype", "layer without `type`", "`<layer id=\"3\" name=\"out\" version=\"opset1\">`",
     w('name="out" type="Result" ', 'name="out" '), BIN),
    ("layerid", "layer id that is not an integer", "`<layer id=\"r3\" ...>`", w('<layer id="3"', '<layer id="r3"'), BIN),
    ("duplayer", "duplicate layer id", "two layers with `id=\"2\"`", w('<layer id="3" name="out"', '<layer id="2" name="out"'), BIN),
    ("dimtext", "`<dim>` that is not a number", "`<dim>one</dim>`", w(DIM_X, DIM_X.replace(">1<", ">one<")), BIN),
    ("negdim", "negative dimension (below -1)", "`<dim>-5</dim>`", w(DIM_X, DIM_X.replace(">1<", ">-5<")), BIN),
    ("hugedim", "absurd dimension (limit 2^48)", "`<dim>1000000000000000</dim>`", w(DIM_X, DIM_X.replace(">1<", ">1000000000000000<")), BIN),
    ("dimoverflow", "port shape whose element count overflows 64 bits", "dims `[100000000000000,100000000000000]`",
     w(DIM_X + "\n\t\t\t\t\t<dim>2</dim>", DIM_X.replace(">1<", ">100000000000000<") + "\n\t\t\t\t\t<dim>100000000000000</dim>"), BIN),
    ("rank", "rank above the limit (64)", "65 `<dim>`s on a port",
     w('names="y"><dim>1</dim><dim>2</dim>', 'names="y">' + "<dim>1</dim>" * 65), BIN),
    ("noprecision", "output port without `precision`", "`<port id=\"2\" names=\"y\">`",
     w('<port id="2" precision="FP32" names="y">', '<port id="2" names="y">'), BIN),
    ("dupport", "two ports of a layer share an id", "output port id 1 = input port id 1",
     w('<port id="2" precision="FP32" names="y">', '<port id="1" precision="FP32" names="y">'), BIN),
    ("portid", "port id that is not an integer", "`<port id=\"two\" ...>`",
     w('<port id="2" precision="FP32" names="y">', '<port id="two" precision="FP32" names="y">'), BIN),
    ("emptyname", "empty tensor name", "`names=\"y,,z\"`", w('names="y"', 'names="y,,z"'), BIN),
    ("dangling", "dangling edge", "`from-layer=\"17\"`", w('<edge from-layer="0" from-port="0" to-layer="2"', '<edge from-layer="17" from-port="0" to-layer="2"'), BIN),
    ("noport", "edge to a port the layer does not have", "`to-port=\"7\"`", w('to-layer="2" to-port="1"', 'to-layer="2" to-port="7"'), BIN),
    ("edgeattr", "edge attribute missing or not an integer", "`to-port=\"-1\"`", w('to-layer="3" to-port="0"', 'to-layer="3" to-port="-1"'), BIN),
    ("twoproducers", "two edges into one input port", "both edges into port 1 of `add`",
     w('<edge from-layer="0" from-port="0" to-layer="2" to-port="0" />', '<edge from-layer="0" from-port="0" to-layer="2" to-port="1" />'), BIN),
    ("cycle", "cycle in the graph", "an edge from `add` back into `add`",
     w('<edge from-layer="0" from-port="0" to-layer="2" to-port="0" />', '<edge from-layer="2" from-port="2" to-layer="2" to-port="0" />'), BIN),
    ("etype", "unknown element type", "Const `element_type=\"f8e4m3\"`",
     w('element_type="f32" shape="1, 2"', 'element_type="f8e4m3" shape="1, 2"'), BIN),
    ("noattr", "missing Const attribute", "Const without `offset`", w('offset="0" size="8"', 'size="8"'), BIN),
    ("badnumber", "malformed number in an attribute", "`size=\"8bytes\"`", w('size="8"', 'size="8bytes"'), BIN),
    ("constshape", "malformed Const `shape`", "`shape=\"1, -2\"`", w('shape="1, 2" offset', 'shape="1, -2" offset'), BIN),
    ("shapemismatch", "Const `shape` differs from its port", "`shape=\"2, 1\"` on a `[1,2]` port",
     w('shape="1, 2" offset="0" size="8"', 'shape="2, 1" offset="0" size="8"'), BIN),
    ("small", "Const `size` too small for its shape", "`size=\"7\"` for 2 × f32", w('offset="0" size="8"', 'offset="0" size="7"'), BIN),
    ("pastend", "Const offset past the end of the `.bin`", "`offset=\"4096\"`", w('offset="0" size="8"', 'offset="4096" size="8"'), BIN),
    ("overflow", "Const offset + size overflowing 64 bits", "`offset=\"18446744073709551615\"`",
     w('offset="0" size="8"', 'offset="18446744073709551615" size="8"'), BIN),
    ("truncbin", "truncated `.bin`", "a 4-byte `.bin` for an 8-byte Const", TINY, BIN[:4]),
    ("nobin", "missing `.bin`", "no `model.bin` beside the `.xml`", TINY, None),
]

# IRs that read but that no engine can run: `check` runs them (inputs from its seed) and the
# reference refuses them, or shape inference contradicts their declared port dims.
SEMANTIC = [
    ("unknownop", "op type no engine implements", "`type=\"Addd\"`", w('type="Add"', 'type="Addd"'), "check"),
    ("broadcast", "unknown `auto_broadcast` value", "`auto_broadcast=\"sideways\"`",
     w('auto_broadcast="numpy"', 'auto_broadcast="sideways"'), "check"),
    ("outdims", "output port dims contradict shape inference", "`add` declares `[1,3]` for `[1,2]` + `[1,2]`",
     w('<port id="2" precision="FP32" names="y"><dim>1</dim><dim>2</dim>', '<port id="2" precision="FP32" names="y"><dim>1</dim><dim>3</dim>'),
     "inspect"),
    ("indims", "input port dims differ from the producer's", "`add` input 0 declares `[2,2]`",
     w('<port id="0" precision="FP32"><dim>1</dim><dim>2</dim></port>\n\t\t\t\t<port id="1"',
       '<port id="0" precision="FP32"><dim>2</dim><dim>2</dim></port>\n\t\t\t\t<port id="1"'), "inspect"),
]


def npy(descr, shape, data, fortran=False, version=1):
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    pad = 64 - (10 + len(h) + 1) % 64
    h = (h + " " * pad + "\n").encode()
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H", len(h)) + h + data


NPY = [
    ("magic", "`.npy` without the magic string", "a text file named `x.npy`", b"not a numpy file\n"),
    ("npytrunc", "`.npy` with truncated data", "shape `(1, 2)` `<f4`, 4 data bytes", npy("<f4", "(1, 2)", BIN[:4])),
    ("bigendian", "big-endian `.npy`", "`'descr': '>f4'`", npy(">f4", "(1, 2)", BIN)),
    ("fortran", "Fortran-order `.npy`", "`'fortran_order': True`", npy("<f4", "(1, 2)", BIN, fortran=True)),
    ("dtype", "unsupported `.npy` dtype", "`'descr': '<c8'` (complex)", npy("<c8", "(1, 2)", BIN * 2)),
    ("trailing", "bytes after the `.npy` data", "4 extra bytes", npy("<f4", "(1, 2)", BIN + BIN[:4])),
    ("npyversion", "unsupported `.npy` format version", "version 9.0", npy("<f4", "(1, 2)", BIN, version=9)),
    ("header", "`.npy` header that does not parse", "`{'descr': '<f4', 'shape': (1, 2), }` (no `fortran_order`)",
     b"\x93NUMPY\x01\x00" + struct.pack("<H", 54) + b"{'descr': '<f4', 'shape': (1, 2), }".ljust(53) + b"\n" + BIN),
]


def run(args):
    p = subprocess.run([conform] + args, cwd=out, capture_output=True, timeout=60)
    msg = (p.stderr or p.stdout).decode("utf-8", "replace").strip().splitlines()
    return p.returncode, msg[0] if msg else ""


def cell(s):
    return s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


rows = []
for stem, cls, trig, xml, binb in IR:
    xp, bp = os.path.join(out, stem + ".xml"), os.path.join(out, stem + ".bin")
    with open(xp, "wb") as f:
        f.write(xml if isinstance(xml, bytes) else xml.encode())
    if binb is None:
        if os.path.exists(bp):
            os.remove(bp)
    else:
        with open(bp, "wb") as f:
            f.write(binb)
    code, msg = run(["inspect", stem + ".xml"])
    rows.append((cls, trig, f"`conform inspect {stem}.xml`", msg, code))
for stem, cls, trig, xml, cmd in SEMANTIC:
    with open(os.path.join(out, stem + ".xml"), "w") as f:
        f.write(xml)
    with open(os.path.join(out, stem + ".bin"), "wb") as f:
        f.write(BIN)
    code, msg = run([cmd, stem + ".xml"])
    if cmd == "check":  # the verdict table goes to stdout; the message that explains exit 2 is the FAILED line
        p = subprocess.run([conform, cmd, stem + ".xml"], cwd=out, capture_output=True, timeout=60)
        lines = p.stdout.decode("utf-8", "replace").splitlines()
        msg = next((l for l in lines if l.startswith("FAILED")), msg)
    rows.append((cls, trig, f"`conform {cmd} {stem}.xml`", msg, code))
with open(os.path.join(out, "tiny.xml"), "w") as f:
    f.write(TINY)
with open(os.path.join(out, "tiny.bin"), "wb") as f:
    f.write(BIN)
for stem, cls, trig, data in NPY:
    with open(os.path.join(out, stem + ".npy"), "wb") as f:
        f.write(data)
    code, msg = run(["infer", "tiny.xml", "--input", stem + ".npy", "--out", "o"])
    rows.append((cls, trig, f"`conform infer tiny.xml --input {stem}.npy --out o`", msg, code))

print("| # | class | example trigger | command | message (stderr) | exit |")
print("|---|---|---|---|---|---|")
for i, (cls, trig, cmd, msg, code) in enumerate(rows, 1):
    print(f"| {i} | {cls} | {trig} | {cmd} | {cell(msg)} | {code} |")
bad = [r for r in rows if r[4] != 2]
if bad:
    sys.exit(f"{len(bad)} inputs did not exit with status 2: {[r[0] for r in bad]}")
