"""ONNX QDQ twins of the benchmark IR models, for ONNX Runtime's int8 path.

`build_qdq(xml_path, out_qdq=None)` reads one model written by the `dump_workloads` example (an
OpenVINO IR: Parameter -> FakeQuantize levels 256 -> Convolution / GroupConvolution / MatMul with
`compressed-dq` weights, i.e. i8 Const -> Convert -> Multiply(per-channel scale) -> Result) and
writes the same function as an ONNX QDQ model:

- every activation FakeQuantize [lo, hi] -> QuantizeLinear(u8, scale = (hi - lo) / 255,
  zero point = round(-lo / scale)) -> DequantizeLinear (so unsigned ranges [0, 255 s] get zero
  point 0 and signed ones [-128 s, 127 s] zero point 128: u8 activations everywhere);
- every compressed weight -> DequantizeLinear(s8 initializer, per-channel scale, zero point 0):
  the *same integers and scales* as the IR (dense conv [K, C, kh, kw] axis 0; depthwise
  [G, 1, 1, kh, kw] reshaped to [G, 1, kh, kw] with Conv group = G; MatMul weights [N, K] with
  transpose_b are stored transposed as [K, N], axis 1, because ONNX MatMul has no transpose flag);
- act x act MatMul: QDQ on both inputs; a transpose_b operand is transposed in f32 before its Q;
- `out_qdq`: the f32 result of the Conv / MatMul goes through one more QuantizeLinear(u8) ->
  DequantizeLinear pair with the given (scale, zero point). ONNX Runtime's QDQ selectors need it
  to fuse a Conv into QLinearConv and a MatMul into QLinearMatMul (without it, its Conv stays an
  f32 Conv on dequantized weights); it re-quantizes the output, so ORT's result then differs from
  the IR's f32 output by up to half that scale (plus input rounding ties).

`fused_ops(model_path, ...)` runs ONNX Runtime's graph optimizer (level ALL, CPU) on a model,
saves the optimized graph and returns its op types, to check what actually runs.
"""
import numpy as np


def _const(node):
    if node.get_type_name() != "Constant":
        raise ValueError(f"{node.get_friendly_name()}: expected a Constant, got {node.get_type_name()}")
    return node.get_data()


def read_ir(xml_path):
    """The IR read by OpenVINO (an `openvino.Model`), walked op by op below."""
    import openvino as ov

    return ov.Core().read_model(xml_path)


def fq_params(fq):
    """(scale, zero_point) of an activation FakeQuantize levels 256 with in range == out range."""
    levels = fq.get_attributes()["levels"]
    il, ih, ol, oh = (float(_const(fq.input_value(i).get_node())) for i in range(1, 5))
    if levels != 256 or il != ol or ih != oh:
        raise ValueError(f"{fq.get_friendly_name()}: not a levels-256 requantization-free FakeQuantize")
    scale = np.float32((ih - il) / (levels - 1))
    zp = int(round(-il / float(scale)))
    if not 0 <= zp <= 255:
        raise ValueError(f"{fq.get_friendly_name()}: zero point {zp} outside u8")
    return scale, zp


def _weight(mul):
    """(int8 weights, f32 per-channel scale with the weight's rank) of Convert(i8 Const) * scale."""
    a, b = (mul.input_value(i).get_node() for i in range(2))
    if a.get_type_name() != "Convert":
        a, b = b, a
    q = _const(a.input_value(0).get_node())
    s = _const(b)
    if q.dtype != np.int8:
        raise ValueError(f"{mul.get_friendly_name()}: weights are {q.dtype}, expected int8")
    return q, s.astype(np.float32)


def build_qdq(xml_path, out_qdq=None):
    """The ONNX ModelProto (opset 21) computing the same function as the IR at `xml_path`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = read_ir(xml_path)
    nodes, inits, names = [], [], {}
    inputs, outputs = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def qdq(x, scale, zp, tag):
        s = init(f"{tag}_scale", np.array(scale, dtype=np.float32))
        z = init(f"{tag}_zp", np.array(zp, dtype=np.uint8))
        nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [f"{tag}_q"], name=f"{tag}_Q"))
        nodes.append(helper.make_node("DequantizeLinear", [f"{tag}_q", s, z], [f"{tag}_dq"], name=f"{tag}_DQ"))
        return f"{tag}_dq"

    def wdq(q, s, axis, tag):
        w = init(f"{tag}_w", q)
        sc = init(f"{tag}_scale", s.reshape(-1))
        z = init(f"{tag}_zp", np.zeros(s.size, dtype=np.int8))
        nodes.append(helper.make_node("DequantizeLinear", [w, sc, z], [f"{tag}_dq"], name=f"{tag}_DQ", axis=axis))
        return f"{tag}_dq"

    def src(n, i=0):
        return names[n.input_value(i).get_node().get_friendly_name()]

    # Graph inputs in the IR's Parameter order (input_K.npy), whatever the topological order.
    for k, p in enumerate(model.get_parameters()):
        inputs.append(helper.make_tensor_value_info(f"input_{k}", TensorProto.FLOAT, list(p.get_output_shape(0))))
        names[p.get_friendly_name()] = f"input_{k}"
    main = None
    for n in model.get_ordered_ops():
        t, name = n.get_type_name(), n.get_friendly_name()
        if t in ("Parameter", "Constant", "Convert", "Multiply"):
            pass  # inputs are declared above; weights are read from their consumer
        elif t == "FakeQuantize":
            scale, zp = fq_params(n)
            x = src(n)
            consumer_transposes = [
                c.get_node() for c in n.output(0).get_target_inputs()
                if c.get_node().get_type_name() == "MatMul" and c.get_index() == 1
                and c.get_node().get_attributes()["transpose_b"]]
            if consumer_transposes:
                rank = len(n.get_output_shape(0))
                perm = list(range(rank - 2)) + [rank - 1, rank - 2]
                nodes.append(helper.make_node("Transpose", [x], [f"{name}_t"], name=f"{name}_T", perm=perm))
                x = f"{name}_t"
            names[name] = qdq(x, scale, zp, name)
        elif t in ("Convolution", "GroupConvolution"):
            a = n.get_attributes()
            q, s = _weight(n.input_value(1).get_node())
            group = 1
            if t == "GroupConvolution":
                g, kpg, cpg = q.shape[:3]
                if kpg != 1 or cpg != 1:
                    raise ValueError(f"{name}: only depthwise group convolutions are supported")
                group = g
                q = q.reshape((g,) + q.shape[3:])[:, None]
                s = s.reshape(g, 1, 1, 1)
            w = wdq(q, s, 0, name)
            if a.get("auto_pad", "explicit") not in ("explicit", "notset"):
                raise ValueError(f"{name}: auto_pad {a['auto_pad']} not supported")
            nodes.append(helper.make_node(
                "Conv", [src(n), w], [f"{name}_y"], name=name, group=group, kernel_shape=list(q.shape[2:]),
                strides=list(a["strides"]), dilations=list(a["dilations"]),
                pads=list(a["pads_begin"]) + list(a["pads_end"])))
            names[name] = main = f"{name}_y"
        elif t == "MatMul":
            a = n.get_attributes()
            if a["transpose_a"]:
                raise ValueError(f"{name}: transpose_a not supported")
            bnode = n.input_value(1).get_node()
            if bnode.get_type_name() == "Multiply":
                q, s = _weight(bnode)  # q [N, K] (transpose_b) or [K, N]; s [N, 1] or [1, N]
                if a["transpose_b"]:
                    q = np.ascontiguousarray(q.T)
                b = wdq(q, s, 1, name)
            else:
                b = src(n, 1)  # an activation FakeQuantize; transposed before its Q above
            nodes.append(helper.make_node("MatMul", [src(n), b], [f"{name}_y"], name=name))
            names[name] = main = f"{name}_y"
        elif t == "Result":
            y = src(n)
            if main is not None and y == main and out_qdq is not None:
                y = qdq(y, out_qdq[0], out_qdq[1], "output")
            nodes.append(helper.make_node("Identity", [y], [f"output_{len(outputs)}"], name=f"Result_{len(outputs)}"))
            outputs.append(helper.make_tensor_value_info(
                f"output_{len(outputs)}", TensorProto.FLOAT, list(n.get_input_shape(0))))
        else:
            raise ValueError(f"{name}: op {t} not supported by the ONNX twin")
    graph = helper.make_graph(nodes, model.get_friendly_name(), inputs, outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], producer_name="conform peer_compare")
    m.ir_version = 10
    onnx.checker.check_model(m)
    return m


def output_qdq(y):
    """(scale, u8 zero point) covering [min(y, 0), max(y, 0)] of a reference f32 output."""
    lo, hi = min(float(y.min()), 0.0), max(float(y.max()), 0.0)
    scale = np.float32(max(hi - lo, 1e-12) / 255.0)
    return scale, int(min(255, max(0, round(-lo / float(scale)))))


def session_options(threads, optimized_path=None):
    """ORT CPU options of the comparison: intra-op threads, sequential, graph optimization ALL."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if optimized_path:
        so.optimized_model_filepath = optimized_path
    return so


def fused_ops(model_path, optimized_path, threads=1):
    """Op types (domain-qualified when not ONNX) of ORT's optimized graph, in graph order."""
    import onnx
    import onnxruntime as ort

    ort.InferenceSession(model_path, session_options(threads, optimized_path), providers=["CPUExecutionProvider"])
    g = onnx.load(optimized_path).graph
    return [(f"{n.domain}." if n.domain not in ("", "ai.onnx") else "") + n.op_type for n in g.node]
