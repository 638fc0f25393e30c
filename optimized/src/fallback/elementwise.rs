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
    /// SquaredDifference-1: `(a − b)·(a − b)`.
    SqDiff,
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
            "SquaredDifference" => BinOp::SqDiff,
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
            BinOp::SqDiff => (a - b) * (a - b),
        }
    }
}

/// Resolves the `auto_broadcast` attribute into the shape `b` takes for numpy broadcasting:
/// `numpy` (default) as is; `none` requires equal shapes; `pdpd` aligns `b` to `a` starting at the
/// `axis` attribute (−1: right-aligned) and pads it with 1s, the output keeping `a`'s shape.
fn effective_b_shape(cx: &Ctx<'_>, a: &[usize], b: &[usize]) -> Result<Vec<usize>, FallbackError> {
    let mode = cx.node.attr("auto_broadcast").map(str::trim).unwrap_or("numpy");
    let incompatible =
        || cx.err(format!("input shapes {} and {} do not broadcast ({mode})", fmt_shape(a), fmt_shape(b)));
    match mode {
        "numpy" => Ok(b.to_vec()),
        "none" if a == b => Ok(b.to_vec()),
        "none" => Err(incompatible()),
        "pdpd" => {
            let axis = cx.node.attr_parse_or::<i64>("axis", -1, "an integer")?;
            if b.len() > a.len() {
                return Err(incompatible());
            }
            let start = if axis < 0 { a.len() - b.len() } else { usize::try_from(axis).unwrap_or(usize::MAX) };
            if start.checked_add(b.len()).is_none_or(|e| e > a.len()) {
                return Err(incompatible());
            }
            let mut padded = vec![1; start];
            padded.extend_from_slice(b);
            padded.resize(a.len(), 1);
            if broadcast_pair(a, &padded).as_deref() != Some(a) {
                return Err(incompatible());
            }
            Ok(padded)
        }
        other => Err(cx.err(format!("auto_broadcast=\"{other}\" is not numpy, none or pdpd"))),
    }
}

/// Add, Subtract, Multiply, Divide, Maximum, Minimum, Power. Float inputs compute in f32; integer
/// inputs (shape arithmetic) in wrapping i64, stored back in their type.
pub(crate) fn binary(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let op = BinOp::from_name(&cx.node.op_type).ok_or_else(|| cx.err("not a binary op"))?;
    let (ta, tb) = (cx.input(0)?, cx.input(1)?);
    if ta.element_type != tb.element_type && !(ta.element_type.is_float() && tb.element_type.is_float()) {
        return Err(cx.err(format!("input element types differ: {} and {}", ta.element_type, tb.element_type)));
    }
    let bsh = effective_b_shape(cx, &ta.shape, &tb.shape)?;
    if !ta.element_type.is_float() {
        return integer_binary(cx, op, ta, tb, &bsh);
    }
    let (a, ash) = cx.f32_input(0)?;
    let (b, _) = cx.f32_input(1)?;
    let (shape, data) = binary_broadcast(cx, &a, ash, &b, &bsh, |x, y| op.apply(x, y))?;
    Ok(vec![cx.f32_tensor(shape, data)?])
}

/// The integer result of one binary op in wrapping i64, `None` for a zero divisor.
fn int_apply(op: BinOp, x: i64, z: i64, pythondiv: bool) -> Option<i64> {
    Some(match op {
        BinOp::Add => x.wrapping_add(z),
        BinOp::Sub => x.wrapping_sub(z),
        BinOp::Mul => x.wrapping_mul(z),
        BinOp::Div => {
            if z == 0 {
                return None;
            }
            let q = x.wrapping_div(z);
            if pythondiv && x.wrapping_rem(z) != 0 && ((x < 0) != (z < 0)) {
                q.wrapping_sub(1)
            } else {
                q
            }
        }
        BinOp::Max => x.max(z),
        BinOp::Min => x.min(z),
        BinOp::SqDiff => x.wrapping_sub(z).wrapping_mul(x.wrapping_sub(z)),
        BinOp::Pow => {
            if z >= 0 {
                x.wrapping_pow(u32::try_from(z).unwrap_or(u32::MAX))
            } else if x == 1 {
                1
            } else if x == -1 {
                if z % 2 == 0 {
                    1
                } else {
                    -1
                }
            } else {
                0
            }
        }
    })
}

/// Integer binary arithmetic as OpenVINO's C++ templates on two's-complement machines: values
/// widened to i64 (`Tensor::to_i64_vec`), wrapping arithmetic, the result wrapped to the input type;
/// Divide truncates, then floors when `m_pythondiv` (default true) and the signs differ on an
/// inexact quotient; a zero divisor is an error; Power by repeated multiplication, a negative
/// exponent truncating toward 0 (1 and −1 excepted).
fn integer_binary(
    cx: &Ctx<'_>,
    op: BinOp,
    ta: &Tensor,
    tb: &Tensor,
    bsh: &[usize],
) -> Result<Vec<Tensor>, FallbackError> {
    let pythondiv = cx.node.attr_bool_or("m_pythondiv", true)?;
    let (a, b) = (ta.to_i64_vec(), tb.to_i64_vec());
    let shape = broadcast_pair(&ta.shape, bsh).ok_or_else(|| cx.err("inputs do not broadcast"))?;
    let sa = strides_into(&ta.shape, &shape).ok_or_else(|| cx.err("input 0 does not broadcast"))?;
    let sb = strides_into(bsh, &shape).ok_or_else(|| cx.err("input 1 does not broadcast"))?;
    let n = cx.count(&shape)?;
    let mut y: Vec<i64> = cx.with_capacity(n)?;
    let (_, inner) = rows_and_inner(&shape);
    let (ia, ib) = (inner_stride(&sa), inner_stride(&sb));
    let rows = if n == 0 { 0 } else { n / inner };
    for row in 0..rows {
        let (oa, ob) = (row_offset(&shape, &sa, row), row_offset(&shape, &sb, row));
        for j in 0..inner {
            let v = int_apply(op, a[oa + j * ia], b[ob + j * ib], pythondiv)
                .ok_or_else(|| cx.err("integer division by zero"))?;
            y.push(v);
        }
    }
    let data = match ta.element_type {
        ElementType::I64 => TensorData::I64(y),
        ElementType::I32 => TensorData::I32(y.into_iter().map(|v| v as i32).collect()),
        ElementType::U64 => TensorData::U64(y.into_iter().map(|v| v as u64).collect()),
        ElementType::U32 => TensorData::U32(y.into_iter().map(|v| v as u32).collect()),
        ElementType::I8 => TensorData::I8(y.into_iter().map(|v| v as i8).collect()),
        ElementType::U8 => TensorData::U8(y.into_iter().map(|v| v as u8).collect()),
        other => return Err(cx.err(format!("element type {other} is not supported by {}", cx.node.op_type))),
    };
    Ok(vec![cx.tensor(ta.element_type, shape, data)?])
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

/// Sqrt, ReLU, Sigmoid, HSwish, Clamp, Exp, Log, Tanh, Abs, Negative, Floor, Ceiling, HSigmoid,
/// SoftPlus, Mish, Elu (one input, f32 per element, formulas of OpenVINO's references).
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
        "Exp" => map_unary(cx, f32::exp),
        "Log" => map_unary(cx, f32::ln),
        "Tanh" => map_unary(cx, f32::tanh),
        "Abs" => map_unary(cx, f32::abs),
        "Negative" => map_unary(cx, |x| -x),
        "Floor" => map_unary(cx, f32::floor),
        "Ceiling" => map_unary(cx, f32::ceil),
        // HSigmoid-5: t = x + 3; t = t < 0 ? 0 : t; t = 6 < t ? 6 : t; y = t / 6.
        "HSigmoid" => map_unary(cx, |x| {
            let t = x + 3.0f32;
            let t = if t < 0.0 { 0.0 } else { t };
            let t = if 6.0 < t { 6.0 } else { t };
            t / 6.0f32
        }),
        // SoftPlus-4 (`ov::reference::softplus`): x < ln(FLT_MAX) ? ln(exp(x) + 1) : x, in f32.
        "SoftPlus" => {
            let threshold = f32::MAX.ln();
            map_unary(cx, move |x| if x < threshold { (x.exp() + 1.0f32).ln() } else { x })
        }
        // Mish-4 (`ov::reference::mish`, `x * tanh(log(exp(x) + 1.0))` with a double `1.0`): exp in
        // f32, then the sum, log, tanh and product in f64, rounded once.
        "Mish" => map_unary(cx, |x| {
            let e = f64::from(x.exp());
            (f64::from(x) * (e + 1.0f64).ln().tanh()) as f32
        }),
        // Elu-1 (`ov::reference::elu`, α a double): x < 0 ? f32(α·(f64(exp(x)) − 1)) : x.
        "Elu" => {
            let alpha = cx.node.attr_f64("alpha")?;
            map_unary(cx, move |x| if x < 0.0 { (alpha * (f64::from(x.exp()) - 1.0f64)) as f32 } else { x })
        }
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

/// PRelu-1 (`ov::reference::prelu`): `x < 0 ? x·slope : x`; the slope broadcasts numpy-style,
/// except that a 1-D slope as long as the channel axis (axis 1, or 0 for 1-D data) is per channel.
pub(crate) fn prelu(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let (x, xs) = cx.f32_input(0)?;
    let (slope, ss) = cx.f32_input(1)?;
    let ch = usize::from(xs.len() > 1);
    let slope_shape = match (ss, xs.get(ch)) {
        ([n], Some(&c)) if *n == c => {
            let mut s = vec![1; xs.len()];
            s[ch] = c;
            s
        }
        _ => ss.to_vec(),
    };
    if strides_into(&slope_shape, xs).is_none() {
        return Err(cx.err(format!("slope of shape {} does not broadcast to {}", fmt_shape(ss), fmt_shape(xs))));
    }
    let (shape, data) = binary_broadcast(cx, &x, xs, &slope, &slope_shape, |v, s| if v < 0.0 { v * s } else { v })?;
    Ok(vec![cx.f32_tensor(shape, data)?])
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

/// A source element for Convert: floats exactly as f64 (every f32/f16/bf16 is exact in f64),
/// integers and booleans exactly as i128.
#[derive(Clone, Copy)]
enum Src {
    Float(f64),
    Int(i128),
}

fn sources(t: &Tensor) -> Vec<Src> {
    match &t.data {
        TensorData::F64(v) => v.iter().map(|&x| Src::Float(x)).collect(),
        TensorData::F32(v) => v.iter().map(|&x| Src::Float(x.into())).collect(),
        TensorData::F16(v) => v.iter().map(|x| Src::Float(x.to_f64())).collect(),
        TensorData::BF16(v) => v.iter().map(|x| Src::Float(x.to_f64())).collect(),
        TensorData::I64(v) => v.iter().map(|&x| Src::Int(x.into())).collect(),
        TensorData::I32(v) => v.iter().map(|&x| Src::Int(x.into())).collect(),
        TensorData::I16(v) => v.iter().map(|&x| Src::Int(x.into())).collect(),
        TensorData::I8(v) => v.iter().map(|&x| Src::Int(x.into())).collect(),
        TensorData::U64(v) => v.iter().map(|&x| Src::Int(x.into())).collect(),
        TensorData::U32(v) => v.iter().map(|&x| Src::Int(x.into())).collect(),
        TensorData::U16(v) => v.iter().map(|&x| Src::Int(x.into())).collect(),
        TensorData::U8(v) => v.iter().map(|&x| Src::Int(x.into())).collect(),
        TensorData::Bool(v) => v.iter().map(|&x| Src::Int(x.into())).collect(),
    }
}

/// x86-64 `cvttsd2si` into a 32-bit register: truncation toward zero; NaN and out-of-range values
/// give the "integer indefinite" 0x8000_0000.
fn cvtt32(x: f64) -> i32 {
    let t = x.trunc();
    if (-2147483648.0..2147483648.0).contains(&t) {
        t as i32
    } else {
        i32::MIN
    }
}

/// The same into a 64-bit register (indefinite value 0x8000_0000_0000_0000).
fn cvtt64(x: f64) -> i64 {
    let t = x.trunc();
    if (-9223372036854775808.0..9223372036854775808.0).contains(&t) {
        t as i64
    } else {
        i64::MIN
    }
}

/// What compilers emit for float → u64 on x86-64: below 2^63 the signed conversion reinterpreted,
/// otherwise the signed conversion of `x − 2^63` with the top bit flipped.
fn cvtt_u64(x: f64) -> u64 {
    const TOP: f64 = 9223372036854775808.0;
    if x >= TOP {
        (cvtt64(x - TOP) as u64) ^ (1u64 << 63)
    } else {
        cvtt64(x) as u64
    }
}

impl Src {
    /// The low 32 bits as they land in a register (narrower types keep their low bits of it).
    fn reg32(self) -> i32 {
        match self {
            Src::Float(x) => cvtt32(x),
            Src::Int(i) => i as i32,
        }
    }

    /// The value as it lands in a 64-bit register.
    fn reg64(self) -> i64 {
        match self {
            Src::Float(x) => cvtt64(x),
            Src::Int(i) => i as i64,
        }
    }

    /// `static_cast<float>`: round to nearest even.
    fn f32(self) -> f32 {
        match self {
            Src::Float(x) => x as f32,
            Src::Int(i) => i as f32,
        }
    }
}

/// Convert-1 to `destination_type`, as `ov::reference::convert` behaves on x86-64 (`static_cast`
/// per element): integers and f64 to f32 round to nearest even; f16/bf16 go through f32 (double
/// rounding for f64 and wide integers, as OpenVINO's `float16(float)`); integer → integer wraps;
/// float → integer truncates toward zero with the x86 "indefinite" value (`i32::MIN`/`i64::MIN`) for
/// NaN and out-of-range values, types narrower than 32 bits keeping the low bits of the 32-bit
/// result, u32 the low bits of the 64-bit one; i4/u4 keep the low nibble (i4 sign-extended), u1
/// and boolean test for non-zero (NaN is non-zero).
pub(crate) fn convert(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let dst = cx.node.attr_element_type("destination_type")?;
    let t = cx.input(0)?;
    let shape = t.shape.clone();
    if dst == ElementType::F32 {
        // The hot case (decompressing weights): `to_f32_vec` is `static_cast<float>` for every type.
        return Ok(vec![cx.tensor(dst, shape, TensorData::F32(t.to_f32_vec()))?]);
    }
    let src = sources(t);
    let it = src.into_iter();
    let data = match dst {
        ElementType::F64 => TensorData::F64(
            it.map(|s| match s {
                Src::Float(x) => x,
                Src::Int(i) => i as f64,
            })
            .collect(),
        ),
        ElementType::F16 => TensorData::F16(it.map(|s| f16::from_f32(s.f32())).collect()),
        ElementType::BF16 => TensorData::BF16(it.map(|s| bf16::from_f32(s.f32())).collect()),
        ElementType::I64 => TensorData::I64(it.map(Src::reg64).collect()),
        ElementType::I32 => TensorData::I32(it.map(Src::reg32).collect()),
        ElementType::I16 => TensorData::I16(it.map(|s| s.reg32() as i16).collect()),
        ElementType::I8 => TensorData::I8(it.map(|s| s.reg32() as i8).collect()),
        ElementType::I4 => TensorData::I8(it.map(|s| ((s.reg32() as i8) << 4) >> 4).collect()),
        ElementType::U64 => TensorData::U64(
            it.map(|s| match s {
                Src::Float(x) => cvtt_u64(x),
                Src::Int(i) => i as u64,
            })
            .collect(),
        ),
        ElementType::U32 => TensorData::U32(it.map(|s| s.reg64() as u32).collect()),
        ElementType::U16 => TensorData::U16(it.map(|s| s.reg32() as u16).collect()),
        ElementType::U8 => TensorData::U8(it.map(|s| s.reg32() as u8).collect()),
        ElementType::U4 => TensorData::U8(it.map(|s| (s.reg32() as u8) & 0x0F).collect()),
        ElementType::U1 => TensorData::U8(it.map(|s| u8::from(s.reg32() as u8 != 0)).collect()),
        ElementType::Boolean => TensorData::Bool(
            it.map(|s| match s {
                Src::Float(x) => x != 0.0,
                Src::Int(i) => i != 0,
            })
            .collect(),
        ),
        ElementType::F32 => TensorData::F32(t.to_f32_vec()),
    };
    Ok(vec![cx.tensor(dst, shape, data)?])
}
