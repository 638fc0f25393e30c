#!/usr/bin/env python3
"""Side-by-side end-to-end latency: the optimized engine vs OpenVINO's CPU plugin (INT8).

Both run the *same* IR models: `cargo run --release -p conform-optimized --example dump_workloads`
writes every workload of bench/shapes.json as model.xml/.bin + input_0.npy (the exact models
`conform bench` times). OpenVINO settings as bench/peer.md: INFERENCE_NUM_THREADS 1/2, NUM_STREAMS 1,
PERFORMANCE_HINT LATENCY, INFERENCE_PRECISION_HINT f32. Configurations are interleaved within each
repetition (order rotated); one OpenVINO measurement is the median of >= 20 synchronous calls over
>= 0.15 s after warm-up; ours is the median of 21 calls of `Plan::run` (example `bench`, a subprocess
per measurement). Ratios are computed per repetition, then the median is taken.

Usage: python3 optimized/bench/peer_compare.py [--reps 11] [--out table.md]
Needs: pip install openvino==2026.4.1 numpy
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def sh(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def ov_measure(compiled, inputs):
    req = compiled.create_infer_request()
    for _ in range(5):
        req.infer(inputs)
    times, start = [], time.perf_counter()
    while len(times) < 20 or time.perf_counter() - start < 0.15:
        s = time.perf_counter()
        req.infer(inputs)
        times.append(time.perf_counter() - s)
    return statistics.median(times) * 1e6


def ours_measure(binary, wl_file, threads):
    out = sh([binary, "--workloads", wl_file, "--threads", str(threads), "--reps", "21", "--json"])
    return json.loads(out)["workloads"][0]["median_us"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    import numpy as np
    import openvino as ov

    sh(["cargo", "build", "--release", "-q", "-p", "conform-optimized", "--example", "bench", "--example", "dump_workloads"])
    binary = os.path.join(ROOT, "target", "release", "examples", "bench")
    tmp = tempfile.mkdtemp(prefix="peer_")
    sh([os.path.join(ROOT, "target", "release", "examples", "dump_workloads"), tmp])
    spec = json.load(open(os.path.join(ROOT, "bench", "shapes.json")))
    core = ov.Core()
    configs = []  # (id, threads, kind)
    ov_models, inputs, wl_files = {}, {}, {}
    for w in spec["workloads"]:
        wid = w["id"]
        d = os.path.join(tmp, wid)
        ins, k = [], 0
        while os.path.exists(os.path.join(d, f"input_{k}.npy")):
            ins.append(np.load(os.path.join(d, f"input_{k}.npy")))
            k += 1
        inputs[wid] = ins
        wl_files[wid] = os.path.join(tmp, f"{wid}.json")
        json.dump({"workloads": [w]}, open(wl_files[wid], "w"))
        model = core.read_model(os.path.join(d, "model.xml"))
        for t in (1, 2):
            ov_models[(wid, t)] = core.compile_model(model, "CPU", {
                "INFERENCE_NUM_THREADS": t, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32"})
            configs += [(wid, t, "ov"), (wid, t, "ours")]
    samples = {c: [] for c in configs}
    for r in range(a.reps):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        for c in order:
            wid, t, kind = c
            if kind == "ov":
                samples[c].append(ov_measure(ov_models[(wid, t)], inputs[wid]))
            else:
                samples[c].append(ours_measure(binary, wl_files[wid], t))
        print(f"repetition {r + 1}/{a.reps} done", file=sys.stderr)
    lines = ["| workload | threads | ours median us (min-max) | OpenVINO int8 median us (min-max) | speed-up (median of per-rep ratios) |",
             "|---|---:|---:|---:|---:|"]
    ratios = {1: [], 2: []}
    for w in spec["workloads"]:
        for t in (1, 2):
            o, v = samples[(w["id"], t, "ours")], samples[(w["id"], t, "ov")]
            ratio = statistics.median([vv / oo for vv, oo in zip(v, o)])
            ratios[t].append(ratio)
            lines.append(f"| {w['id']} | {t} | {statistics.median(o):.1f} ({min(o):.0f}-{max(o):.0f}) | "
                         f"{statistics.median(v):.1f} ({min(v):.0f}-{max(v):.0f}) | {ratio:.2f}x |")
    for t in (1, 2):
        g = 1.0
        for x in ratios[t]:
            g *= x
        lines.append(f"| geometric mean | {t} | | | {g ** (1 / len(ratios[t])):.2f}x |")
    text = "\n".join(lines)
    print(text)
    if a.out:
        open(a.out, "w").write(text + "\n")


if __name__ == "__main__":
    main()
