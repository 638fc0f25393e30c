#!/usr/bin/env python3
"""Side-by-side end-to-end latency: the optimized engine vs OpenVINO CPU INT8 vs ONNX Runtime CPU int8.

All engines run *the same function* on the same inputs. `cargo run --release -p conform-optimized
--example dump_workloads -- DIR` writes every workload of bench/shapes.json as an IR (model.xml/.bin)
+ input_K.npy: exactly the models `conform bench` times. OpenVINO reads that IR; ONNX Runtime gets
its QDQ twin built by onnx_qdq.py (same integer weights and scales, u8 activations with the IR's
FakeQuantize scale/zero point, s8 per-channel weights with zero point 0).

Engines (one "configuration" = workload x threads x engine):
- ours: example `bench` (a subprocess per measurement), median of 21 calls of `Plan::run` after 3
  warm-ups, `--threads` 1/2, default ISA.
- ov: OpenVINO CPU, INFERENCE_NUM_THREADS 1/2, NUM_STREAMS 1, PERFORMANCE_HINT LATENCY,
  INFERENCE_PRECISION_HINT f32; input tensors set once (shared memory), then `infer()`.
- ort: ONNX Runtime CPU EP, intra_op_num_threads 1/2, inter_op 1, ORT_SEQUENTIAL, optimization
  level ALL, IOBinding with a preallocated output; the QDQ model with an output Q/DQ pair, which ORT
  fuses into QLinearConv / QLinearMatMul (checked: the optimized graph is saved and its op types
  are printed per workload).
- ort_i2f (MatMul workloads only): the same QDQ model without the output Q/DQ pair, which ORT fuses
  into com.microsoft.MatMulIntegerToFloat (f32 out, no requantization). The "vs ORT" ratio uses,
  per repetition, the faster of ort and ort_i2f.
One OV/ORT measurement = median of >= 20 calls over >= 0.15 s after 5 warm-up calls. Configurations
are interleaved within each repetition, the order rotated between repetitions; a ratio is computed
per repetition (peer time / our time; > 1 means we are faster), then its median is taken.

Sanity (before timing): our output (`conform infer --engine optimized --threads 1`) is compared
with ORT's fused int8 output, ORT's f32-out QDQ output and OpenVINO's output; max |delta| is given in
units of the output quantization scale that the ORT model uses (for the FakeQuantize workload: the
activation scale).

Usage: python3 optimized/bench/peer_compare.py [--reps 11] [--out table.md] [--keep DIR] [--rev COMMIT]
(without --rev it builds and measures the working tree; with --rev, exactly that commit.)
Needs: pip install openvino==2026.4.1 onnx onnxruntime numpy   (and cargo, to build our binaries)
"""
import argparse, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_qdq  # noqa: E402  (sibling module: the ONNX twin of each IR model)

THREADS = (1, 2)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def timed_median(call):
    """Median latency (us) of >= 20 calls over >= 0.15 s, after 5 warm-up calls."""
    for _ in range(5):
        call()
    times, start = [], time.perf_counter()
    while len(times) < 20 or time.perf_counter() - start < 0.15:
        s = time.perf_counter()
        call()
        times.append(time.perf_counter() - s)
    return statistics.median(times) * 1e6


class Ours:
    def __init__(self, binary, wl_file, threads):
        self.cmd = [binary, "--workloads", wl_file, "--threads", str(threads), "--reps", "21", "--json"]
        self.pct, self.macs = [], 0

    def measure(self):
        w = json.loads(sh(self.cmd))["workloads"][0]
        self.pct.append(w.get("percent_of_peak", float("nan")))
        self.macs = w.get("macs", 0)
        return w["median_us"]


def vnni_peak(binary, threads):
    """int8 GOPS of a register-only `vpdpbusd zmm` loop (vnni_peak.rs), best of 7 rounds."""
    try:
        return float(sh([binary, str(threads)]).strip())
    except (subprocess.CalledProcessError, ValueError):
        return float("nan")


class OpenVino:
    def __init__(self, core, model, inputs, threads):
        import openvino as ov

        self.compiled = core.compile_model(model, "CPU", {
            "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32"})
        self.req = self.compiled.create_infer_request()
        for k, a in enumerate(inputs):
            self.req.set_input_tensor(k, ov.Tensor(a, shared_memory=True))

    def output(self):
        self.req.infer()
        return self.req.get_output_tensor(0).data.copy()

    def measure(self):
        return timed_median(self.req.infer)


class OnnxRuntime:
    def __init__(self, path, inputs, out_shape, threads):
        import numpy as np
        import onnxruntime as ort

        self.sess = ort.InferenceSession(path, onnx_qdq.session_options(threads), providers=["CPUExecutionProvider"])
        self.io = self.sess.io_binding()
        for k, a in enumerate(inputs):
            self.io.bind_cpu_input(f"input_{k}", a)
        self.out = np.empty(out_shape, dtype=np.float32)
        self.io.bind_output("output_0", "cpu", 0, np.float32, list(out_shape), self.out.ctypes.data)

    def output(self):
        self.sess.run_with_iobinding(self.io)
        return self.out.copy()

    def measure(self):
        return timed_median(lambda: self.sess.run_with_iobinding(self.io))


def sync_snapshot(rev, dest):
    """Make `dest` hold exactly the files of commit `rev`, rewriting only files whose bytes differ
    (unchanged files keep their mtime, so cargo rebuilds only what the new commit changed)."""
    import io, tarfile

    archive = subprocess.run(["git", "-C", ROOT, "archive", rev], check=True, capture_output=True).stdout
    wanted = set()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for m in tar.getmembers():
            if not m.isfile():
                continue
            path = os.path.join(dest, m.name)
            wanted.add(os.path.normpath(path))
            data = tar.extractfile(m).read()
            if os.path.isfile(path) and open(path, "rb").read() == data:
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "wb").write(data)
            os.chmod(path, m.mode)
    for d, _, files in os.walk(dest):
        for f in files:
            if os.path.normpath(os.path.join(d, f)) not in wanted:
                os.remove(os.path.join(d, f))


def cpu():
    """`model name, family F model M, N logical CPUs` from /proc/cpuinfo (hosts differ between runs)."""
    info = {}
    for line in open("/proc/cpuinfo"):
        k, _, v = line.partition(":")
        info.setdefault(k.strip(), v.strip())
    return (f"{info.get('model name', '?')}, family {info.get('cpu family', '?')} model {info.get('model', '?')}, "
            f"{os.cpu_count()} logical CPUs")


def versions(rev):
    import numpy, onnx, onnxruntime, openvino

    rustc = sh(["rustc", "-V"]).strip()
    commit = sh(["git", "-C", ROOT, "log", "-1", "--format=%h %s", rev or "HEAD"]).strip()
    dirty = "" if rev else sh(["git", "-C", ROOT, "status", "--porcelain", "--", "optimized/src"]).strip()
    return {
        "openvino": openvino.get_version(), "onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__,
        "numpy": numpy.__version__, "python": platform.python_version(), "rustc": rustc,
        "commit": commit + (" (optimized/src has uncommitted changes)" if dirty else ""),
    }


def geomean(xs):
    p = 1.0
    for x in xs:
        p *= x
    return p ** (1 / len(xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--out", default=None, help="write the markdown report here too")
    ap.add_argument("--keep", default=None, help="keep the IR / ONNX models in this directory")
    ap.add_argument("--only", default=None, help="comma-separated workload ids (default: all)")
    ap.add_argument("--rev", default=None, help="measure this commit (git archive snapshot) instead of the working tree")
    ap.add_argument("--snapshot", default=os.path.join(tempfile.gettempdir(), "peer_compare_snapshot"),
                    help="where --rev is extracted and built (default: %(default)s)")
    a = ap.parse_args()
    import numpy as np
    import onnx
    import openvino as ov

    load_before = loadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    src, env = ROOT, dict(os.environ)
    if a.rev:
        a.rev = sh(["git", "-C", ROOT, "rev-parse", "--verify", a.rev + "^{commit}"]).strip()
        # An exact commit, not the shared working tree (others' uncommitted edits): `git archive`
        # into SNAPSHOT/src, built with its own target directory (kept, so later runs are incremental).
        src = os.path.join(a.snapshot, "src")
        sync_snapshot(a.rev, src)
        env["CARGO_TARGET_DIR"] = os.path.join(a.snapshot, "target")
    print(f"building release binaries in {src} ...", file=sys.stderr)
    sh(["cargo", "build", "--release", "-q", "-p", "conform-optimized", "--example", "bench", "--example", "dump_workloads"],
       cwd=src, env=env)
    sh(["cargo", "build", "--release", "-q", "-p", "conform", "--bin", "conform"], cwd=src, env=env)
    rel = os.path.join(env.get("CARGO_TARGET_DIR") or os.path.join(src, "target"), "release")
    binary, conform = os.path.join(rel, "examples", "bench"), os.path.join(rel, "conform")
    tmp = a.keep or tempfile.mkdtemp(prefix="peer_")
    os.makedirs(tmp, exist_ok=True)
    peak_bin = os.path.join(tmp, "vnni_peak")
    sh(["rustc", "-O", "-C", "target-cpu=native", os.path.join(os.path.dirname(os.path.abspath(__file__)), "vnni_peak.rs"),
        "-o", peak_bin])
    peaks = [vnni_peak(peak_bin, t) for t in THREADS]
    sh([os.path.join(rel, "examples", "dump_workloads"), tmp])
    spec = json.load(open(os.path.join(src, "bench", "shapes.json")))
    workloads = [w for w in spec["workloads"] if not a.only or w["id"] in a.only.split(",")]
    core = ov.Core()
    engines, configs, fused, sanity = {}, [], {}, {}
    for w in workloads:
        wid = w["id"]
        d = os.path.join(tmp, wid)
        xml = os.path.join(d, "model.xml")
        ins, k = [], 0
        while os.path.exists(os.path.join(d, f"input_{k}.npy")):
            ins.append(np.ascontiguousarray(np.load(os.path.join(d, f"input_{k}.npy")), dtype=np.float32))
            k += 1
        wl_file = os.path.join(tmp, f"{wid}.json")
        json.dump({"workloads": [w]}, open(wl_file, "w"))
        # Our output (the engine's CLI, 1 thread; bit-identical for any thread count by its tests).
        out_dir = os.path.join(d, "ours_out")
        sh([conform, "infer", xml] + sum((["--input", os.path.join(d, f"input_{j}.npy")] for j in range(len(ins))), [])
           + ["--engine", "optimized", "--threads", "1", "--out", out_dir])
        ours_y = np.load(os.path.join(out_dir, "output_0.npy"))
        # ORT twins: f32-out QDQ (also gives the output range), then the fused model with output Q/DQ.
        f32_path, q_path = os.path.join(d, "qdq_f32out.onnx"), os.path.join(d, "qdq.onnx")
        onnx.save(onnx_qdq.build_qdq(xml), f32_path)
        ort_f32 = OnnxRuntime(f32_path, ins, ours_y.shape, 1)
        f32_y = ort_f32.output()
        if w["op"] == "fakequantize":
            out_scale = np.float32(w["act_fq"]["scale"])
            shutil.copy(f32_path, q_path)
        else:
            out_scale, out_zp = onnx_qdq.output_qdq(f32_y)
            onnx.save(onnx_qdq.build_qdq(xml, (out_scale, out_zp)), q_path)
        fused[wid] = {"ort": onnx_qdq.fused_ops(q_path, os.path.join(d, "qdq_opt.onnx"))}
        kinds = ["ours", "ov", "ort"]
        if w["op"] == "matmul":
            fused[wid]["ort_i2f"] = onnx_qdq.fused_ops(f32_path, os.path.join(d, "qdq_f32out_opt.onnx"))
            kinds.append("ort_i2f")
        model = core.read_model(xml)
        for t in THREADS:
            engines[(wid, t, "ours")] = Ours(binary, wl_file, t)
            engines[(wid, t, "ov")] = OpenVino(core, model, ins, t)
            engines[(wid, t, "ort")] = OnnxRuntime(q_path, ins, ours_y.shape, t)
            if "ort_i2f" in kinds:
                engines[(wid, t, "ort_i2f")] = OnnxRuntime(f32_path, ins, ours_y.shape, t)
            configs += [(wid, t, kd) for kd in kinds]
        ov_y = engines[(wid, 1, "ov")].output()
        ort_y = engines[(wid, 1, "ort")].output()
        sanity[wid] = {
            "out_scale": float(out_scale),
            "ort_int8": float(np.abs(ort_y - ours_y).max() / out_scale),
            "ort_f32out": float(np.abs(f32_y - ours_y).max() / out_scale),
            "ov": float(np.abs(ov_y - ours_y).max() / out_scale),
            "ort_int8_cells_over_half": int((np.abs(ort_y - ours_y) > 0.5001 * out_scale).sum()),
            "cells": int(ours_y.size),
        }
        print(f"{wid}: ORT ops {' -> '.join(fused[wid]['ort'])}; max|d| ours vs ORT int8 "
              f"{sanity[wid]['ort_int8']:.3f}, vs ORT f32-out {sanity[wid]['ort_f32out']:.2e}, vs OV "
              f"{sanity[wid]['ov']:.2e} (output scales)", file=sys.stderr)

    samples = {c: [] for c in configs}
    loads = []
    for r in range(a.reps):
        off = (r * len(configs)) // a.reps
        for c in configs[off:] + configs[:off]:
            samples[c].append(engines[c].measure())
        loads.append(float(loadavg()[0]))
        print(f"repetition {r + 1}/{a.reps} done (load {loads[-1]:.2f})", file=sys.stderr)
    load_after = loadavg()
    peaks += [vnni_peak(peak_bin, t) for t in THREADS]
    # Today's per-core peak: the best single-thread figure (the 2-thread loop shares the cores with
    # whatever else runs); 2 threads are rated against twice that.
    core_peak = max(peaks[0], peaks[2])

    def cell(xs):
        return f"{statistics.median(xs):.1f} ({min(xs):.0f}-{max(xs):.0f})"

    lines = [
        "| workload | thr | ours us (min-max) | ours % peak (722 / this run) | OpenVINO us (min-max) | ORT QLinear us (min-max) "
        "| ORT MatMulIntegerToFloat us (min-max) | vs OpenVINO | vs ORT | ORT fused ops (QLinear model) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ratios = {(t, p): [] for t in THREADS for p in ("ov", "ort")}
    for w in workloads:
        wid = w["id"]
        for t in THREADS:
            o = samples[(wid, t, "ours")]
            v = samples[(wid, t, "ov")]
            q = samples[(wid, t, "ort")]
            i2f = samples.get((wid, t, "ort_i2f"))
            best = [min(x, y) for x, y in zip(q, i2f)] if i2f else q
            rv = statistics.median([vv / oo for vv, oo in zip(v, o)])
            rq = statistics.median([bb / oo for bb, oo in zip(best, o)])
            ratios[(t, "ov")].append(rv)
            ratios[(t, "ort")].append(rq)
            pct = statistics.median(engines[(wid, t, "ours")].pct)
            today = 2 * engines[(wid, t, "ours")].macs / (statistics.median(o) * 1e3) / (core_peak * t) * 100
            pct_s = f"{pct:.0f} / {today:.0f} %" if w["op"] != "fakequantize" else "-"
            ops = " → ".join(x.replace("com.microsoft.", "ms.") for x in fused[wid]["ort"])
            lines.append(f"| {wid} | {t} | {cell(o)} | {pct_s} | {cell(v)} | {cell(q)} | {cell(i2f) if i2f else '-'} "
                         f"| {rv:.2f}x | {rq:.2f}x | {ops if t == 1 else '″'} |")
    for t in THREADS:
        lines.append(f"| geometric mean | {t} | | | | | | {geomean(ratios[(t, 'ov')]):.2f}x | "
                     f"{geomean(ratios[(t, 'ort')]):.2f}x | |")
    ver = versions(a.rev)
    head = [
        f"Run started {started}, {a.reps} repetitions, commit `{ver['commit']}`.",
        f"Versions: OpenVINO {ver['openvino']}, onnxruntime {ver['onnxruntime']}, onnx {ver['onnx']}, "
        f"numpy {ver['numpy']}, Python {ver['python']}, {ver['rustc']}.",
        f"CPU: {cpu()}.",
        f"Load average (1/5/15 min) before: {' '.join(load_before)}; after: {' '.join(load_after)}; "
        f"1-min load after each repetition: min {min(loads):.2f}, median {statistics.median(loads):.2f}, "
        f"max {max(loads):.2f}.",
        f"VNNI peak this run (register-only vpdpbusd zmm, vnni_peak.rs, best of 7; before / after): 1 thread "
        f"{peaks[0]:.0f} / {peaks[2]:.0f}, 2 threads {peaks[1]:.0f} / {peaks[3]:.0f} int8 GOPS; "
        f"'% peak' uses 722 GOPS/core (bench/peer.md) / {core_peak:.0f} GOPS/core (this run).",
        "",
    ]
    tail = ["", "ORT graphs after optimization (level ALL), per workload:", ""]
    for w in workloads:
        f = fused[w["id"]]
        extra = f"; without the output Q/DQ: {' → '.join(f['ort_i2f'])}" if "ort_i2f" in f else ""
        tail.append(f"- {w['id']}: {' → '.join(f['ort'])}{extra}")
    tail += ["", "Numerical sanity, max |ours − peer| in units of the ORT model's output scale "
             "(ours = `conform infer --engine optimized`, 1 thread):", "",
             "| workload | output scale | vs ORT int8 (QLinear, re-quantized output) | cells > 0.5 scale "
             "| vs ORT QDQ f32-out | vs OpenVINO |", "|---|---:|---:|---:|---:|---:|"]
    for w in workloads:
        s = sanity[w["id"]]
        tail.append(f"| {w['id']} | {s['out_scale']:.4g} | {s['ort_int8']:.3f} | {s['ort_int8_cells_over_half']} "
                    f"of {s['cells']} | {s['ort_f32out']:.2e} | {s['ov']:.2e} |")
    text = "\n".join(head + lines + tail)
    print(text)
    if a.out:
        open(a.out, "w").write(text + "\n")
        json.dump({"samples": {"|".join(map(str, c)): v for c, v in samples.items()}, "sanity": sanity, "peaks": peaks,
                   "fused": fused, "versions": ver, "loads": loads, "load_before": load_before,
                   "load_after": load_after}, open(a.out + ".json", "w"), indent=1)


if __name__ == "__main__":
    main()
