#!/usr/bin/env python3
"""Run an OpenVINO IR with the `openvino` package (PyPI) on .npy inputs and write the outputs.

Two ways to call it:

* once:   ov_run.py MODEL.xml --input a.npy [--input b.npy ...] --out DIR [options]
          writes DIR/output_K.npy (in OpenVINO's order of model outputs) and DIR/outputs.json.
* server: ov_run.py --serve [options]
          reads one JSON request per line on stdin and answers one JSON line on stdout
          (the adapter protocol of the README, "External engines"):
            {"id": 1, "model": "m.xml", "inputs": ["a.npy"], "out": "DIR"}
         -> {"id": 1, "ok": true, "outputs": ["DIR/output_0.npy", ...]}
         or {"id": 1, "ok": false, "error": "..."}
            {"id": 2, "cmd": "version"} -> {"id": 2, "ok": true, "version": "2026.4.1-..."}

With --reference the model is not compiled: every node is evaluated in topological order with
OpenVINO's own reference implementations (`Node.evaluate`, the code behind `ov::reference`). A node
without one (Convolution, GroupConvolution, AvgPool, ...) stops the run with
{"ok": false, "not_covered": ["Convolution conv1", ...], "error": "..."}.

Options (both ways): --device CPU, --precision f32 (INFERENCE_PRECISION_HINT), --lpt on|off
(LP_TRANSFORMS_MODE), --threads N (INFERENCE_NUM_THREADS, default 1: deterministic). The ISA cap
is the environment variable ONEDNN_MAX_CPU_ISA, which must be set before this process starts.
Output values are written as float32 (CONTRACT.md, `infer --out`).
"""

import argparse
import json
import os
import sys
import traceback


def compile_config(args):
    cfg = {
        "INFERENCE_PRECISION_HINT": args.precision,
        "INFERENCE_NUM_THREADS": args.threads,
        "NUM_STREAMS": 1,
        "ENABLE_CPU_PINNING": False,
    }
    if args.lpt == "off":
        cfg["LP_TRANSFORMS_MODE"] = False
    return cfg


def run_once(core, np, model_path, input_paths, out_dir, args):
    model = core.read_model(model_path)
    compiled = core.compile_model(model, args.device, compile_config(args))
    params = compiled.inputs
    if len(params) != len(input_paths):
        raise ValueError(f"{model_path}: the model has {len(params)} inputs, {len(input_paths)} were given")
    feeds = {}
    for k, (port, path) in enumerate(zip(params, input_paths)):
        feeds[k] = np.load(path)
    request = compiled.create_infer_request()
    request.infer(feeds)
    os.makedirs(out_dir, exist_ok=True)
    written, entries = [], []
    for k, port in enumerate(compiled.outputs):
        value = np.asarray(request.get_output_tensor(k).data).astype(np.float32)
        path = os.path.join(out_dir, f"output_{k}.npy")
        np.save(path, value)
        written.append(path)
        entries.append({"index": k, "names": sorted(port.get_names()), "shape": list(value.shape)})
    with open(os.path.join(out_dir, "outputs.json"), "w") as f:
        json.dump(entries, f, indent=1)
    return written


class NotCovered(Exception):
    """Nodes OpenVINO has no reference evaluation for."""

    def __init__(self, nodes):
        super().__init__("OpenVINO has no reference evaluation for " + ", ".join(nodes))
        self.nodes = nodes


def write_outputs(np, values, names, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    written, entries = [], []
    for k, (value, port_names) in enumerate(zip(values, names)):
        value = np.asarray(value).astype(np.float32)
        path = os.path.join(out_dir, f"output_{k}.npy")
        np.save(path, value)
        written.append(path)
        entries.append({"index": k, "names": sorted(port_names), "shape": list(value.shape)})
    with open(os.path.join(out_dir, "outputs.json"), "w") as f:
        json.dump(entries, f, indent=1)
    return written


def run_reference(core, np, ov, model_path, input_paths, out_dir):
    """Evaluates every node with Node.evaluate (OpenVINO's reference code), no plugin involved."""
    model = core.read_model(model_path)
    params = model.get_parameters()
    if len(params) != len(input_paths):
        raise ValueError(f"{model_path}: the model has {len(params)} inputs, {len(input_paths)} were given")
    arrays = [np.load(p) for p in input_paths]
    # Static shapes from the given inputs, so that every output can be allocated.
    model.reshape({p.output(0): ov.PartialShape(list(a.shape)) for p, a in zip(params, arrays)})
    param_index = {p.get_name(): k for k, p in enumerate(params)}
    values = {}
    uncovered = []
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind == "Parameter":
            arr = arrays[param_index[op.get_name()]]
            values[(op.get_name(), 0)] = ov.Tensor(np.ascontiguousarray(arr.astype(op.get_output_element_type(0).to_dtype())))
            continue
        ins = [values.get((i.get_source_output().get_node().get_name(), i.get_source_output().get_index())) for i in op.inputs()]
        if any(v is None for v in ins):
            continue  # fed by a node that was not covered
        if kind == "Result":
            values[(op.get_name(), 0)] = ins[0]
            continue
        outs = [ov.Tensor(op.get_output_element_type(i), op.get_output_shape(i)) for i in range(op.get_output_size())]
        if not op.evaluate(outs, ins):
            uncovered.append(f"{kind} {op.get_friendly_name()}")
            continue
        for i, t in enumerate(outs):
            values[(op.get_name(), i)] = t
    if uncovered:
        raise NotCovered(uncovered)
    results = model.get_results()
    return write_outputs(np, [values[(r.get_name(), 0)].data for r in results],
                         [r.input(0).get_source_output().get_names() for r in results], out_dir)


def serve(core, np, ov, args):
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            if req.get("cmd") == "version":
                reply = {"id": rid, "ok": True, "version": ov.get_version()}
            elif args.reference:
                outs = run_reference(core, np, ov, req["model"], req.get("inputs", []), req["out"])
                reply = {"id": rid, "ok": True, "outputs": outs}
            else:
                outs = run_once(core, np, req["model"], req.get("inputs", []), req["out"], args)
                reply = {"id": rid, "ok": True, "outputs": outs}
        except NotCovered as e:
            reply = {"id": rid, "ok": False, "error": str(e), "not_covered": e.nodes}
        except Exception as e:  # every failure is an answer, never a dead adapter
            reply = {"id": rid, "ok": False, "error": f"{type(e).__name__}: {e}",
                     "trace": traceback.format_exc(limit=3)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?")
    p.add_argument("--input", action="append", default=[])
    p.add_argument("--out")
    p.add_argument("--serve", action="store_true")
    p.add_argument("--reference", action="store_true", help="evaluate node by node with Node.evaluate")
    p.add_argument("--device", default="CPU")
    p.add_argument("--precision", default="f32")
    p.add_argument("--lpt", choices=["on", "off"], default="on")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    try:
        import numpy as np
        import openvino as ov
    except ImportError as e:
        print(f"ov_run.py: the openvino and numpy packages are needed: {e}", file=sys.stderr)
        return 3
    core = ov.Core()
    if args.serve:
        serve(core, np, ov, args)
        return 0
    if not args.model or not args.out:
        p.error("MODEL and --out are needed (or --serve)")
    try:
        if args.reference:
            run_reference(core, np, ov, args.model, args.input, args.out)
        else:
            run_once(core, np, args.model, args.input, args.out, args)
    except Exception as e:
        print(f"ov_run.py: {args.model}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
