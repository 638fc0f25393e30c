//! Element-wise ops: binary arithmetic with numpy broadcasting, activations, FakeQuantize and
//! Convert. One f32 operation per step in the order `reference/FP32.md` fixes; no FMA.

use super::broadcast::{broadcast_pair, inner_stride, min_rows, row_offset, rows_and_inner, strides_into};
use super::ctx::{Ctx, FallbackError};
use conform_ir::shape::fmt_shape;
use conform_ir::{ElementType, Tensor, TensorData};
use half::{bf16, f16};
use rayon::prelude::*;

/// The binary arithmetic ops (OpenVINO opset1 Add, Subtract, Multiply, Divide, Maximum, Minimum, Power).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Pow,
}

impl BinOp {
    fn from_name(s: &str) -> Option<BinOp> {
        Some(match s {
            "Add" => BinOp::Add,
            "Subtract" => BinOp::Sub,
            "Multiply" => BinOp::Mul,
            "Divide" => BinOp::Div,
            "Maximum" => BinOp::Max,
            "Minimum" => BinOp::Min,
            "Power" => BinOp::Pow,
            _ => return None,
        })
    }

    /// One f32 operation (FP32.md: Maximum `a > b ? a : b`, Minimum `a < b ? a : b`, Power `powf`;
    /// Divide is true division for floats, `m_pythondiv` only matters for integers).
    #[inline(always)]
    pub(crate) fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => a / b,
            BinOp::Max => {
                if a > b {
                    a
                } else {
                    b
                }
            }
            BinOp::Min => {
                if a < b {
                    a
                } else {
                    b
                }
            }
            BinOp::Pow => a.powf(b),
        }
    }
}

/// Checks the `auto_broadcast` attribute: `numpy` (default) broadcasts, `none` requires equal shapes.
fn check_auto_broadcast(cx: &Ctx<'_>, a: &[usize], b: &[usize]) -> Result<(), FallbackError> {
    match cx.node.attr("auto_broadcast").map(str::trim) {
        None | Some("numpy") => Ok(()),
        Some("none") if a == b => Ok(()),
        Some("none") => Err(cx.err(format!(
            "auto_broadcast=none with different input shapes {} and {}",
            fmt_shape(a),
            fmt_shape(b)
        ))),
        Some(other) => Err(cx.err(format!("auto_broadcast=\"{other}\" is not supported (numpy, none are)"))),
    }
}

/// Add, Subtract, Multiply, Divide, Maximum, Minimum, Power.
pub(crate) fn binary(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let op = BinOp::from_name(&cx.node.op_type).ok_or_else(|| cx.err("not a binary op"))?;
    let (a, ash) = cx.f32_input(0)?;
    let (b, bsh) = cx.f32_input(1)?;
    check_auto_broadcast(cx, ash, bsh)?;
    let (shape, data) = binary_broadcast(cx, &a, ash, &b, bsh, |x, y| op.apply(x, y))?;
    Ok(vec![cx.f32_tensor(shape, data)?])
}

/// `f(a, b)` per element of the numpy broadcast of `a` and `b`.
pub(crate) fn binary_broadcast(
    cx: &Ctx<'_>,
    a: &[f32],
    ash: &[usize],
    b: &[f32],
    bsh: &[usize],
    f: impl Fn(f32, f32) -> f32 + Sync,
) -> Result<(Vec<usize>, Vec<f32>), FallbackError> {
    let shape = broadcast_pair(ash, bsh)
        .ok_or_else(|| cx.err(format!("input shapes {} and {} do not broadcast", fmt_shape(ash), fmt_shape(bsh))))?;
    let n = cx.count(&shape)?;
    let mut out = cx.zeros(n)?;
    if n == 0 {
        return Ok((shape, out));
    }
    if ash == bsh {
        out.par_chunks_mut(4096).zip(a.par_chunks(4096).zip(b.par_chunks(4096))).for_each(|(o, (x, y))| {
            for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
                *o = f(x, y);
            }
        });
        return Ok((shape, out));
    }
    let sa = strides_into(ash, &shape).ok_or_else(|| cx.err("input 0 does not broadcast"))?;
    let sb = strides_into(bsh, &shape).ok_or_else(|| cx.err("input 1 does not broadcast"))?;
    let (_, inner) = rows_and_inner(&shape);
    let (ia, ib) = (inner_stride(&sa), inner_stride(&sb));
    out.par_chunks_mut(inner).enumerate().with_min_len(min_rows(inner)).for_each(|(row, o)| {
        let oa = row_offset(&shape, &sa, row);
        let ob = row_offset(&shape, &sb, row);
        match (ia, ib) {
            (1, 1) => {
                for ((o, &x), &y) in o.iter_mut().zip(&a[oa..oa + inner]).zip(&b[ob..ob + inner]) {
                    *o = f(x, y);
                }
            }
            (1, 0) => {
                let y = b[ob];
                for (o, &x) in o.iter_mut().zip(&a[oa..oa + inner]) {
                    *o = f(x, y);
                }
            }
            (0, 1) => {
                let x = a[oa];
                for (o, &y) in o.iter_mut().zip(&b[ob..ob + inner]) {
                    *o = f(x, y);
                }
            }
            _ => {
                for (j, o) in o.iter_mut().enumerate() {
                    *o = f(a[oa + j * ia], b[ob + j * ib]);
                }
            }
        }
    });
    Ok((shape, out))
}

/// Applies `f` to every element of input 0 (in parallel chunks).
fn map_unary(cx: &Ctx<'_>, f: impl Fn(f32) -> f32 + Sync) -> Result<Vec<Tensor>, FallbackError> {
    let (x, shape) = cx.f32_input(0)?;
    let mut out = cx.zeros(x.len())?;
    out.par_chunks_mut(4096).zip(x.par_chunks(4096)).for_each(|(o, x)| {
        for (o, &x) in o.iter_mut().zip(x) {
            *o = f(x);
        }
    });
    Ok(vec![cx.f32_tensor(shape.to_vec(), out)?])
}

/// Sigmoid as FP32.md fixes it: `1 / (1 + exp(−x))`.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    let e = (-x).exp();
    let d = 1.0f32 + e;
    1.0f32 / d
}

/// Sqrt, ReLU, Sigmoid, HSwish, Clamp.
pub(crate) fn unary(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    match cx.node.op_type.as_str() {
        "Sqrt" => map_unary(cx, f32::sqrt),
        "ReLU" | "Relu" => map_unary(cx, |x| if x > 0.0 { x } else { 0.0 }),
        "Sigmoid" => map_unary(cx, sigmoid),
        // HSwish-4 (FP32.md, std::max/std::min semantics so a NaN survives):
        // t = x + 3; t = t < 0 ? 0 : t; t = 6 < t ? 6 : t; y = x·t; y = y / 6.
        "HSwish" => map_unary(cx, |x| {
            let t = x + 3.0f32;
            let t = if t < 0.0 { 0.0 } else { t };
            let t = if 6.0 < t { 6.0 } else { t };
            let y = x * t;
            y / 6.0f32
        }),
        "Clamp" => {
            // Clamp-1: the attributes are doubles; the f32 op uses them rounded to f32.
            let lo = cx.node.attr_f64("min")? as f32;
            let hi = cx.node.attr_f64("max")? as f32;
            if lo > hi {
                return Err(cx.err(format!("min {lo} is greater than max {hi}")));
            }
            map_unary(cx, move |x| {
                if x < lo {
                    lo
                } else if x > hi {
                    hi
                } else {
                    x
                }
            })
        }
        other => Err(cx.err(format!("{other} is not a unary op"))),
    }
}

/// Swish-4, β from the optional second input (default 1). FP32.md: `e = exp((−x)·β)` in f32, then
/// `f32(f64(x) / (1.0 + f64(e)))` (OpenVINO's `v / (1.0 + std::exp(-v * beta))` has a double `1.0`).
pub(crate) fn swish(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 2)?;
    let beta = if cx.inputs.len() == 2 { cx.f32_scalar(1)? } else { 1.0 };
    map_unary(cx, move |x| {
        let e = ((-x) * beta).exp();
        (f64::from(x) / (1.0f64 + f64::from(e))) as f32
    })
}

/// HardSigmoid-1, α and β scalar inputs. FP32.md: `t = α·x; t = t + β; m = t < 1 ? t : 1;
/// y = 0 < m ? m : 0` (NaN gives 1).
pub(crate) fn hard_sigmoid(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(3, 3)?;
    let alpha = cx.f32_scalar(1)?;
    let beta = cx.f32_scalar(2)?;
    map_unary(cx, move |x| {
        let t = alpha * x;
        let t = t + beta;
        let m = if t < 1.0 { t } else { 1.0 };
        if 0.0 < m {
            m
        } else {
            0.0
        }
    })
}

/// FakeQuantize-1, SPEC §1.2 recipe, bit-exact to `ov::reference::fake_quantize`: division form,
/// each step rounded to f32, ties to even, each range input broadcast numpy-style by its own shape.
#[inline(always)]
pub(crate) fn fq_element(x: f32, il: f32, ih: f32, ol: f32, oh: f32, lm1: f32) -> f32 {
    if x <= il.min(ih) {
        ol
    } else if x > il.max(ih) {
        oh
    } else {
        let t = (x - il) / (ih - il);
        let t = t * lm1;
        let r = t.round_ties_even();
        let y = r / lm1;
        let y = y * (oh - ol);
        y + ol
    }
}

/// FakeQuantize over a whole tensor.
pub(crate) fn fake_quantize(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(5, 5)?;
    let levels = cx.node.attr_u64("levels")?;
    if levels < 2 {
        return Err(cx.err(format!("levels={levels}: at least 2 are required")));
    }
    let lm1 = (levels - 1) as f32;
    let (x, shape) = cx.f32_input(0)?;
    let names = ["input_low", "input_high", "output_low", "output_high"];
    let mut ranges = Vec::with_capacity(4);
    let mut strides = Vec::with_capacity(4);
    let auto = cx.node.attr("auto_broadcast").map(str::trim).unwrap_or("numpy");
    for (k, name) in names.iter().enumerate() {
        let (r, rs) = cx.f32_input(k + 1)?;
        if auto == "none" && rs != shape {
            return Err(cx.err(format!(
                "auto_broadcast=none: {name} has shape {}, data has {}",
                fmt_shape(rs),
                fmt_shape(shape)
            )));
        }
        let s = strides_into(rs, shape).ok_or_else(|| {
            cx.err(format!("{name} of shape {} does not broadcast to data shape {}", fmt_shape(rs), fmt_shape(shape)))
        })?;
        ranges.push(r);
        strides.push(s);
    }
    let mut out = cx.zeros(x.len())?;
    if out.is_empty() {
        return Ok(vec![cx.f32_tensor(shape.to_vec(), out)?]);
    }
    let (_, inner) = rows_and_inner(shape);
    let (il, ih, ol, oh) = (&ranges[0], &ranges[1], &ranges[2], &ranges[3]);
    let inn: Vec<usize> = strides.iter().map(|s| inner_stride(s)).collect();
    out.par_chunks_mut(inner).enumerate().with_min_len(min_rows(inner)).for_each(|(row, o)| {
        let base = row * inner;
        let off: [usize; 4] = std::array::from_fn(|k| row_offset(shape, &strides[k], row));
        if inn.iter().all(|&s| s == 0) {
            // Ranges constant along the row (per-tensor or per-channel): hoist them.
            let (a, b, c, d) = (il[off[0]], ih[off[1]], ol[off[2]], oh[off[3]]);
            for (j, o) in o.iter_mut().enumerate() {
                *o = fq_element(x[base + j], a, b, c, d, lm1);
            }
        } else {
            for (j, o) in o.iter_mut().enumerate() {
                *o = fq_element(
                    x[base + j],
                    il[off[0] + j * inn[0]],
                    ih[off[1] + j * inn[1]],
                    ol[off[2] + j * inn[2]],
                    oh[off[3] + j * inn[3]],
                    lm1,
                );
            }
        }
    });
    Ok(vec![cx.f32_tensor(shape.to_vec(), out)?])
}

/// Convert-1 to `destination_type`: to f32 (integers to the nearest f32, f16/bf16 exactly, booleans
/// 0/1), to f16/bf16 (round to nearest even from the f32 value), between integer types (two's
/// complement wrap, C `static_cast`). Float → integer is refused (not in the corpus; OpenVINO's
/// rounding for it is not pinned down by FP32.md).
pub(crate) fn convert(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let dst = cx.node.attr_element_type("destination_type")?;
    let t = cx.input(0)?;
    let shape = t.shape.clone();
    let src_float = t.element_type.is_float();
    let data = match dst {
        ElementType::F32 => TensorData::F32(t.to_f32_vec()),
        ElementType::F16 => TensorData::F16(t.to_f32_vec().into_iter().map(f16::from_f32).collect()),
        ElementType::BF16 => TensorData::BF16(t.to_f32_vec().into_iter().map(bf16::from_f32).collect()),
        ElementType::F64 => TensorData::F64(match &t.data {
            TensorData::F64(v) => v.clone(),
            _ => t.to_f32_vec().into_iter().map(f64::from).collect(),
        }),
        d if t.element_type == d => t.data.clone(),
        _ if src_float => {
            return Err(cx.err(format!("conversion from {} to {dst} is not supported", t.element_type)));
        }
        ElementType::I64 => TensorData::I64(t.to_i64_vec()),
        ElementType::I32 => TensorData::I32(t.to_i64_vec().into_iter().map(|v| v as i32).collect()),
        ElementType::I16 => TensorData::I16(t.to_i64_vec().into_iter().map(|v| v as i16).collect()),
        ElementType::I8 => TensorData::I8(t.to_i64_vec().into_iter().map(|v| v as i8).collect()),
        ElementType::U64 => TensorData::U64(t.to_i64_vec().into_iter().map(|v| v as u64).collect()),
        ElementType::U32 => TensorData::U32(t.to_i64_vec().into_iter().map(|v| v as u32).collect()),
        ElementType::U16 => TensorData::U16(t.to_i64_vec().into_iter().map(|v| v as u16).collect()),
        ElementType::U8 => TensorData::U8(t.to_i64_vec().into_iter().map(|v| v as u8).collect()),
        ElementType::Boolean => TensorData::Bool(t.to_i64_vec().into_iter().map(|v| v != 0).collect()),
        other => return Err(cx.err(format!("conversion to {other} is not supported"))),
    };
    Ok(vec![cx.tensor(dst, shape, data)?])
}
