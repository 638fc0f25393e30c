#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from the real IRs and .npy files in ../corpus.
#
#   fuzz/seed.sh            # writes fuzz/corpus/{ir_reader,round_trip,interpret,npy_reader}/
#   MAX_SEED=65536 fuzz/seed.sh   # only IRs whose .xml + .bin are at most this many bytes
#
# An IR seed is the input layout of the IR targets: a 4-byte little-endian length of the .xml,
# the .xml, then the .bin. Small IRs only (default: at most 256 KiB together), so that libFuzzer
# runs fast; the big IRs are exercised by `cargo test -p conform-ir` instead. The generated
# corpora are not committed (fuzz/.gitignore); the tiny hand seeds in fuzz/seeds/ are, and are
# copied in too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
max="${MAX_SEED:-262144}"
python3 - "$root" "$here" "$max" <<'PY'
import hashlib, os, shutil, struct, sys
root, here, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = {t: os.path.join(here, "corpus", t) for t in ("ir_reader", "round_trip", "interpret", "npy_reader")}
for d in out.values():
    os.makedirs(d, exist_ok=True)

def put(target, data):
    name = hashlib.sha1(data).hexdigest()  # libFuzzer's own naming: reruns do not duplicate
    with open(os.path.join(out[target], name), "wb") as f:
        f.write(data)

n_ir = n_npy = 0
corpus = os.path.join(root, "corpus")
for dirpath, _, files in sorted(os.walk(corpus)):
    for f in sorted(files):
        p = os.path.join(dirpath, f)
        if f.endswith(".xml"):
            xml = open(p, "rb").read()
            binp = p[:-4] + ".bin"
            bin_ = open(binp, "rb").read() if os.path.exists(binp) else b""
            if len(xml) + len(bin_) > limit:
                continue
            seed = struct.pack("<I", len(xml)) + xml + bin_
            for t in ("ir_reader", "round_trip", "interpret"):
                put(t, seed)
            n_ir += 1
        elif f.endswith(".npy") and os.path.getsize(p) <= 65536:
            put("npy_reader", open(p, "rb").read())
            n_npy += 1
seeds = os.path.join(here, "seeds")
for t in out:
    d = os.path.join(seeds, t)
    if os.path.isdir(d):
        for f in sorted(os.listdir(d)):
            put(t, open(os.path.join(d, f), "rb").read())
print(f"{n_ir} IR seeds, {n_npy} .npy seeds under {os.path.join(here, 'corpus')}")
PY
