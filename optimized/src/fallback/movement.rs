//! Data movement without arithmetic: Reshape, Squeeze, Unsqueeze, Transpose, Concat, Gather-8,
//! Slice-8, VariadicSplit, Pad-1/12. Elements are copied bit for bit, for any element type.

use super::broadcast::{min_rows, row_major_strides, rows_and_inner};
use super::ctx::{Ctx, FallbackError};
use super::elem::{dispatch, Elem};
use conform_ir::shape::fmt_shape;
use conform_ir::{ElementType, Tensor, TensorData};
use rayon::prelude::*;

/// The same data under another shape (element counts checked by the caller).
fn reshaped(cx: &Ctx<'_>, t: &Tensor, shape: Vec<usize>) -> Result<Tensor, FallbackError> {
    cx.tensor(t.element_type, shape, t.data.clone())
}

/// Reshape-1: `0` copies the input dimension when `special_zero`, one `-1` is inferred.
pub(crate) fn reshape(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let t = cx.input(0)?;
    let target = cx.int_input(1)?;
    let special_zero = cx.node.attr_bool_or("special_zero", false)?;
    let total = t.len();
    let mut dims = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        let v = match d {
            0 if special_zero => *t.shape.get(i).ok_or_else(|| {
                cx.err(format!("special_zero: target dimension {i} is 0 but the input has rank {}", t.shape.len()))
            })?,
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            -1 => return Err(cx.err("more than one -1 in the target shape")),
            d if d < 0 => return Err(cx.err(format!("target dimension {d} is negative"))),
            d => usize::try_from(d).map_err(|_| cx.err(format!("target dimension {d} is too large")))?,
        };
        dims.push(v);
    }
    let known = cx.count(&dims)?;
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(cx.err(format!("cannot infer -1: {total} elements into target {:?}", target)));
        }
        dims[i] = total / known;
    } else if known != total {
        return Err(cx.err(format!("target shape {} holds {known} elements, the input {total}", fmt_shape(&dims))));
    }
    Ok(vec![reshaped(cx, t, dims)?])
}

/// Squeeze-1: removes the listed size-1 axes, or every size-1 axis when no axes input is given.
pub(crate) fn squeeze(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 2)?;
    let t = cx.input(0)?;
    let rank = t.shape.len();
    let mut drop = vec![false; rank];
    if cx.inputs.len() == 2 {
        for a in cx.int_input(1)? {
            let a = cx.axis(a, rank)?;
            if t.shape[a] != 1 {
                return Err(cx.err(format!("cannot squeeze axis {a} of size {}", t.shape[a])));
            }
            drop[a] = true;
        }
    } else {
        for (a, &d) in t.shape.iter().enumerate() {
            drop[a] = d == 1;
        }
    }
    let dims = t.shape.iter().zip(&drop).filter(|(_, &x)| !x).map(|(&d, _)| d).collect();
    Ok(vec![reshaped(cx, t, dims)?])
}

/// Unsqueeze-1: inserts size-1 axes at the listed positions of the output.
pub(crate) fn unsqueeze(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let t = cx.input(0)?;
    let axes = cx.int_input(1)?;
    let out_rank = t.shape.len() + axes.len();
    let mut ones = vec![false; out_rank];
    for a in axes {
        let a = cx.axis(a, out_rank)?;
        if ones[a] {
            return Err(cx.err(format!("axis {a} is listed twice")));
        }
        ones[a] = true;
    }
    let mut src = t.shape.iter();
    let dims = ones.iter().map(|&one| if one { 1 } else { src.next().copied().unwrap_or(1) }).collect();
    Ok(vec![reshaped(cx, t, dims)?])
}

/// Transpose-1: output axis `i` is input axis `order[i]`; an empty order reverses the axes.
pub(crate) fn transpose(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let t = cx.input(0)?;
    let rank = t.shape.len();
    let order = cx.int_input(1)?;
    let perm: Vec<usize> = if order.is_empty() {
        (0..rank).rev().collect()
    } else {
        if order.len() != rank {
            return Err(cx.err(format!("order has {} entries for rank {rank}", order.len())));
        }
        let mut seen = vec![false; rank];
        let mut p = Vec::with_capacity(rank);
        for &o in &order {
            let a = usize::try_from(o)
                .ok()
                .filter(|&a| a < rank && !seen[a])
                .ok_or_else(|| cx.err(format!("order {order:?} is not a permutation of 0..{rank}")))?;
            seen[a] = true;
            p.push(a);
        }
        p
    };
    let out_shape: Vec<usize> = perm.iter().map(|&a| t.shape[a]).collect();
    let in_strides = row_major_strides(&t.shape);
    let strides: Vec<usize> = perm.iter().map(|&a| in_strides[a]).collect();
    let data = dispatch!(&t.data, permute(cx, &t.data, &out_shape, &strides))?;
    Ok(vec![cx.tensor(t.element_type, out_shape, data)?])
}

/// Copies `data` into an output of shape `out` where output axis `i` steps `strides[i]` in the input.
fn permute<T: Elem>(
    cx: &Ctx<'_>,
    data: &TensorData,
    out: &[usize],
    strides: &[usize],
) -> Result<TensorData, FallbackError> {
    let v = T::slice(data).ok_or_else(|| cx.err("element type mismatch"))?;
    let n = cx.count(out)?;
    let mut o = cx.filled(n, T::ZERO)?;
    if n > 0 {
        let (_, inner) = rows_and_inner(out);
        let inner_stride = strides.last().copied().unwrap_or(0);
        o.par_chunks_mut(inner).enumerate().with_min_len(min_rows(inner)).for_each(|(row, o)| {
            let mut base = 0;
            let mut r = row;
            for ax in (0..out.len().saturating_sub(1)).rev() {
                base += (r % out[ax]) * strides[ax];
                r /= out[ax];
            }
            for (j, o) in o.iter_mut().enumerate() {
                *o = v[base + j * inner_stride];
            }
        });
    }
    Ok(T::wrap(o))
}

/// Concat-1 along `axis` (negative counts from the end); all inputs share type, rank and other dims.
pub(crate) fn concat(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    if cx.inputs.is_empty() {
        return Err(cx.err("needs at least one input"));
    }
    let first = cx.input(0)?;
    let rank = first.shape.len();
    let axis = cx.axis(cx.node.attr_i64("axis")?, rank)?;
    let mut out_shape = first.shape.clone();
    out_shape[axis] = 0;
    for (i, t) in cx.inputs.iter().enumerate() {
        let same = t.element_type == first.element_type
            && t.shape.len() == rank
            && t.shape.iter().zip(&first.shape).enumerate().all(|(a, (x, y))| a == axis || x == y);
        if !same {
            return Err(cx.err(format!(
                "input {i} ({} {}) does not match input 0 ({} {}) outside axis {axis}",
                t.element_type,
                fmt_shape(&t.shape),
                first.element_type,
                fmt_shape(&first.shape)
            )));
        }
        out_shape[axis] = out_shape[axis].checked_add(t.shape[axis]).ok_or_else(|| cx.err("output too large"))?;
    }
    let data = dispatch!(&first.data, concat_t(cx, &out_shape, axis))?;
    Ok(vec![cx.tensor(first.element_type, out_shape, data)?])
}

fn concat_t<T: Elem>(cx: &Ctx<'_>, out_shape: &[usize], axis: usize) -> Result<TensorData, FallbackError> {
    let outer: usize = out_shape[..axis].iter().product();
    let post: usize = out_shape[axis + 1..].iter().product();
    let n = cx.count(out_shape)?;
    let mut o = cx.with_capacity(n)?;
    let parts: Vec<(&[T], usize)> = cx
        .inputs
        .iter()
        .map(|t| T::slice(&t.data).map(|v| (v, t.shape[axis] * post)).ok_or_else(|| cx.err("element type mismatch")))
        .collect::<Result<_, _>>()?;
    for b in 0..outer {
        for &(v, chunk) in &parts {
            o.extend_from_slice(&v[b * chunk..(b + 1) * chunk]);
        }
    }
    Ok(T::wrap(o))
}

/// Gather-8: `out[b.., p.., j.., q..] = data[b.., p.., indices[b.., j..], q..]`; negative indices
/// count from the end; an index out of range gives zeros (Gather-8 spec).
pub(crate) fn gather(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(3, 3)?;
    let t = cx.input(0)?;
    let it = cx.input(1)?;
    let idx = cx.int_input(1)?;
    let axis_v = cx.int_input(2)?;
    let [axis] = axis_v.as_slice() else {
        return Err(cx.err("the axis input must hold one value"));
    };
    let rank = t.shape.len();
    let axis = cx.axis(*axis, rank)?;
    let bd = cx.node.attr_parse_or::<i64>("batch_dims", 0, "an integer")?;
    let bd = if bd < 0 { bd + it.shape.len() as i64 } else { bd };
    let bd = usize::try_from(bd).ok().filter(|&b| b <= axis && b <= it.shape.len()).ok_or_else(|| {
        cx.err(format!("batch_dims out of range for axis {axis} and indices rank {}", it.shape.len()))
    })?;
    if t.shape[..bd] != it.shape[..bd] {
        return Err(cx.err("data and indices differ in the batch dimensions"));
    }
    let mut out_shape = t.shape[..axis].to_vec();
    out_shape.extend_from_slice(&it.shape[bd..]);
    out_shape.extend_from_slice(&t.shape[axis + 1..]);
    let g = GatherGeom {
        batch: t.shape[..bd].iter().product(),
        pre: t.shape[bd..axis].iter().product(),
        len: t.shape[axis],
        post: t.shape[axis + 1..].iter().product(),
        nidx: it.shape[bd..].iter().product(),
    };
    let data = dispatch!(&t.data, gather_t(cx, &t.data, &idx, &g, &out_shape))?;
    Ok(vec![cx.tensor(t.element_type, out_shape, data)?])
}

struct GatherGeom {
    batch: usize,
    pre: usize,
    len: usize,
    post: usize,
    nidx: usize,
}

fn gather_t<T: Elem>(
    cx: &Ctx<'_>,
    data: &TensorData,
    idx: &[i64],
    g: &GatherGeom,
    out_shape: &[usize],
) -> Result<TensorData, FallbackError> {
    let v = T::slice(data).ok_or_else(|| cx.err("element type mismatch"))?;
    let n = cx.count(out_shape)?;
    let mut o = cx.with_capacity(n)?;
    let zeros = vec![T::ZERO; g.post];
    for b in 0..g.batch {
        for p in 0..g.pre {
            for j in 0..g.nidx {
                let k = idx[b * g.nidx + j];
                let k = if k < 0 { k + g.len as i64 } else { k };
                if k >= 0 && (k as usize) < g.len {
                    let start = ((b * g.pre + p) * g.len + k as usize) * g.post;
                    o.extend_from_slice(&v[start..start + g.post]);
                } else {
                    o.extend_from_slice(&zeros);
                }
            }
        }
    }
    Ok(T::wrap(o))
}

/// Copies from `data` (shape `in_shape`) into an output whose coordinate `o` on axis `a` reads input
/// coordinate `maps[a][o]`, or `fill` where that is `None`.
pub(crate) fn gather_axes<T: Elem>(
    cx: &Ctx<'_>,
    data: &[T],
    in_shape: &[usize],
    maps: &[Vec<Option<usize>>],
    fill: T,
) -> Result<Vec<T>, FallbackError> {
    let out: Vec<usize> = maps.iter().map(Vec::len).collect();
    let n = cx.count(&out)?;
    let mut o = cx.filled(n, fill)?;
    if n == 0 {
        return Ok(o);
    }
    let strides = row_major_strides(in_shape);
    let (_, inner) = rows_and_inner(&out);
    let rank = out.len();
    o.par_chunks_mut(inner).enumerate().with_min_len(min_rows(inner)).for_each(|(row, o)| {
        let mut base = 0;
        let mut r = row;
        for ax in (0..rank.saturating_sub(1)).rev() {
            match maps[ax][r % out[ax]] {
                Some(c) => base += c * strides[ax],
                None => return, // the whole row is padding
            }
            r /= out[ax];
        }
        if rank == 0 {
            o[0] = data[0];
            return;
        }
        for (o, m) in o.iter_mut().zip(&maps[rank - 1]) {
            if let Some(c) = m {
                *o = data[base + c];
            }
        }
    });
    Ok(o)
}

fn gather_axes_data<T: Elem>(
    cx: &Ctx<'_>,
    t: &Tensor,
    maps: &[Vec<Option<usize>>],
    fill: Option<&Tensor>,
) -> Result<TensorData, FallbackError> {
    let v = T::slice(&t.data).ok_or_else(|| cx.err("element type mismatch"))?;
    let fill = match fill {
        None => T::ZERO,
        Some(f) => {
            let fv = T::slice(&f.data).ok_or_else(|| cx.err("the pad value's type differs from the data's"))?;
            *fv.first().ok_or_else(|| cx.err("the pad value is empty"))?
        }
    };
    Ok(T::wrap(gather_axes(cx, v, &t.shape, maps, fill)?))
}

/// Slice-8: per listed axis, elements `start, start+step, ...` before `stop`, with numpy clamping;
/// negative start/stop count from the end.
pub(crate) fn slice(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(4, 5)?;
    let t = cx.input(0)?;
    let rank = t.shape.len();
    let (start, stop, step) = (cx.int_input(1)?, cx.int_input(2)?, cx.int_input(3)?);
    let axes: Vec<usize> = if cx.inputs.len() == 5 {
        cx.int_input(4)?.into_iter().map(|a| cx.axis(a, rank)).collect::<Result<_, _>>()?
    } else {
        (0..start.len()).collect()
    };
    if start.len() != axes.len() || stop.len() != axes.len() || step.len() != axes.len() {
        return Err(cx.err("start, stop, step and axes must have the same length"));
    }
    let mut maps: Vec<Vec<Option<usize>>> = t.shape.iter().map(|&d| (0..d).map(Some).collect()).collect();
    let mut seen = vec![false; rank];
    for (k, &a) in axes.iter().enumerate() {
        if a >= rank || seen[a] {
            return Err(cx.err(format!("axis {a} is repeated or out of range")));
        }
        seen[a] = true;
        let d = t.shape[a] as i128;
        let s = step[k] as i128;
        if s == 0 {
            return Err(cx.err("step must not be 0"));
        }
        let norm = |v: i64| if v < 0 { v as i128 + d } else { v as i128 };
        let (mut b, mut e) = (norm(start[k]), norm(stop[k]));
        let mut m = Vec::new();
        if s > 0 {
            b = b.clamp(0, d);
            e = e.clamp(0, d);
            while b < e {
                m.push(Some(b as usize));
                b += s;
            }
        } else {
            b = b.clamp(-1, d - 1);
            e = e.clamp(-1, d - 1);
            while b > e {
                m.push(Some(b as usize));
                b += s;
            }
        }
        maps[a] = m;
    }
    let data = dispatch!(&t.data, gather_axes_data(cx, t, &maps, None))?;
    let shape = maps.iter().map(Vec::len).collect();
    Ok(vec![cx.tensor(t.element_type, shape, data)?])
}

/// VariadicSplit-1: consecutive pieces along `axis` of the given lengths (one `-1` takes the rest).
pub(crate) fn variadic_split(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(3, 3)?;
    let t = cx.input(0)?;
    let axis_v = cx.int_input(1)?;
    let [axis] = axis_v.as_slice() else {
        return Err(cx.err("the axis input must hold one value"));
    };
    let axis = cx.axis(*axis, t.shape.len())?;
    let lens = cx.int_input(2)?;
    let d = t.shape[axis];
    let mut known: usize = 0;
    let mut infer = None;
    for (i, &l) in lens.iter().enumerate() {
        match l {
            -1 if infer.is_none() => infer = Some(i),
            l if l >= 0 => known = known.saturating_add(l as usize),
            _ => return Err(cx.err(format!("split lengths {lens:?} are invalid"))),
        }
    }
    let mut sizes: Vec<usize> = lens.iter().map(|&l| l.max(0) as usize).collect();
    match infer {
        Some(i) if known <= d => sizes[i] = d - known,
        None if known == d => {}
        _ => return Err(cx.err(format!("split lengths {lens:?} do not add up to dimension {d}"))),
    }
    let mut outs = Vec::with_capacity(sizes.len());
    let mut begin = 0;
    for &len in &sizes {
        let maps: Vec<Vec<Option<usize>>> = t
            .shape
            .iter()
            .enumerate()
            .map(
                |(a, &dim)| {
                    if a == axis {
                        (begin..begin + len).map(Some).collect()
                    } else {
                        (0..dim).map(Some).collect()
                    }
                },
            )
            .collect();
        let data = dispatch!(&t.data, gather_axes_data(cx, t, &maps, None))?;
        let mut shape = t.shape.clone();
        shape[axis] = len;
        outs.push(cx.tensor(t.element_type, shape, data)?);
        begin += len;
    }
    Ok(outs)
}

/// Pad-1 / Pad-12: `pads_begin`/`pads_end` per axis (negative pads crop, as OpenVINO's reference
/// does for both versions); modes
/// `constant` (value input 3, default 0), `edge`, `reflect` (mirror without the edge),
/// `symmetric` (mirror with the edge).
pub(crate) fn pad(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(3, 4)?;
    let t = cx.input(0)?;
    let rank = t.shape.len();
    let (pb, pe) = (cx.int_input(1)?, cx.int_input(2)?);
    if pb.len() != rank || pe.len() != rank {
        return Err(cx.err(format!("pads have {} and {} values for rank {rank}", pb.len(), pe.len())));
    }
    let mode = cx.node.attr("pad_mode").map(str::trim).unwrap_or("constant");
    let mut maps = Vec::with_capacity(rank);
    for a in 0..rank {
        let d = t.shape[a] as i64;
        let (b, e) = (pb[a], pe[a]);
        let len = d
            .checked_add(b)
            .and_then(|v| v.checked_add(e))
            .filter(|&v| v >= 0)
            .ok_or_else(|| cx.err(format!("axis {a}: pads ({b}, {e}) leave a negative size")))?;
        let limit = match mode {
            "constant" => i64::MAX,
            "edge" => {
                if d == 0 {
                    0
                } else {
                    i64::MAX
                }
            }
            "reflect" => d - 1,
            "symmetric" => d,
            other => return Err(cx.err(format!("pad_mode \"{other}\" is not supported"))),
        };
        if mode != "constant" && (b.max(0) > limit || e.max(0) > limit) {
            return Err(cx.err(format!("axis {a}: pads ({b}, {e}) too large for {mode} mode on size {d}")));
        }
        let n = usize::try_from(len).map_err(|_| cx.err("output too large"))?;
        let mut m = cx.with_capacity(n)?;
        for o in 0..len {
            let c = o - b;
            let src = if (0..d).contains(&c) {
                Some(c)
            } else {
                match mode {
                    "constant" => None,
                    "edge" => Some(c.clamp(0, d - 1)),
                    "reflect" => Some(if c < 0 { -c } else { 2 * (d - 1) - c }),
                    _ => Some(if c < 0 { -c - 1 } else { 2 * d - 1 - c }),
                }
            };
            m.push(src.map(|c| c as usize));
        }
        maps.push(m);
    }
    let fill = if cx.inputs.len() == 4 && mode == "constant" { Some(cx.input(3)?) } else { None };
    let data = dispatch!(&t.data, gather_axes_data(cx, t, &maps, fill))?;
    let shape = maps.iter().map(Vec::len).collect();
    Ok(vec![cx.tensor(t.element_type, shape, data)?])
}

/// ShapeOf-1 (i64) and ShapeOf-3 (`output_type` i64 or i32): the input's shape as a 1-D tensor.
pub(crate) fn shape_of(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let t = cx.input(0)?;
    let dims = t.shape.iter().map(|&d| i64::try_from(d).map_err(|_| cx.err("dimension too large")));
    let dims: Vec<i64> = dims.collect::<Result<_, _>>()?;
    let n = vec![dims.len()];
    match cx.node.attr("output_type").map(str::trim).unwrap_or("i64") {
        "i64" => Ok(vec![cx.tensor(ElementType::I64, n, TensorData::I64(dims))?]),
        "i32" => {
            let v = dims.iter().map(|&d| i32::try_from(d).map_err(|_| cx.err("dimension exceeds i32")));
            Ok(vec![cx.tensor(ElementType::I32, n, TensorData::I32(v.collect::<Result<_, _>>()?))?])
        }
        other => Err(cx.err(format!("output_type {other} is not i32 or i64"))),
    }
}

/// Split-1: `num_splits` equal pieces along `axis` (input 1, negative counts from the end).
pub(crate) fn split(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let t = cx.input(0)?;
    let axis_v = cx.int_input(1)?;
    let [axis] = axis_v.as_slice() else {
        return Err(cx.err("the axis input must hold one value"));
    };
    let axis = cx.axis(*axis, t.shape.len())?;
    let d = t.shape[axis];
    let n = usize::try_from(cx.node.attr_u64("num_splits")?)
        .ok()
        .filter(|&n| n > 0 && d % n == 0)
        .ok_or_else(|| cx.err(format!("num_splits does not divide dimension {d}")))?;
    let part = d / n;
    (0..n)
        .map(|k| {
            let maps: Vec<Vec<Option<usize>>> = t
                .shape
                .iter()
                .enumerate()
                .map(|(a, &dim)| {
                    if a == axis {
                        (k * part..(k + 1) * part).map(Some).collect()
                    } else {
                        (0..dim).map(Some).collect()
                    }
                })
                .collect();
            let data = dispatch!(&t.data, gather_axes_data(cx, t, &maps, None))?;
            let mut shape = t.shape.clone();
            shape[axis] = part;
            cx.tensor(t.element_type, shape, data)
        })
        .collect()
}

/// Tile-1: repeats the input `repeats[i]` times along axis i; the shorter of `repeats` and the
/// input shape is padded with leading 1s.
pub(crate) fn tile(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let t = cx.input(0)?;
    let reps: Vec<usize> = cx
        .int_input(1)?
        .into_iter()
        .map(|r| usize::try_from(r).map_err(|_| cx.err(format!("negative repeat {r}"))))
        .collect::<Result<_, _>>()?;
    let rank = t.shape.len().max(reps.len());
    let pad = |v: &[usize]| -> Vec<usize> { std::iter::repeat_n(1, rank - v.len()).chain(v.iter().copied()).collect() };
    let in_shape = pad(&t.shape);
    let reps = pad(&reps);
    let out: Vec<usize> = in_shape
        .iter()
        .zip(&reps)
        .map(|(&d, &r)| d.checked_mul(r))
        .collect::<Option<_>>()
        .ok_or_else(|| cx.err("output size overflows"))?;
    cx.count(&out)?;
    let maps: Vec<Vec<Option<usize>>> =
        in_shape.iter().zip(&out).map(|(&d, &o)| (0..o).map(|i| Some(i % d.max(1))).collect()).collect();
    let src = Tensor { element_type: t.element_type, shape: in_shape, data: t.data.clone() };
    let data = dispatch!(&src.data, gather_axes_data(cx, &src, &maps, None))?;
    Ok(vec![cx.tensor(t.element_type, out, data)?])
}

/// Broadcast-1/3: `mode` numpy (the input broadcasts to `target_shape`), bidirectional (v3: the
/// numpy broadcast of both shapes) or explicit (`axes_mapping`, input 2, names the output axis of
/// each input axis, ascending).
pub(crate) fn broadcast(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 3)?;
    let t = cx.input(0)?;
    let target: Vec<usize> = cx
        .int_input(1)?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| cx.err(format!("negative dimension {d}"))))
        .collect::<Result<_, _>>()?;
    let mode = cx.node.attr("mode").map(str::trim).unwrap_or("numpy");
    let (out, aligned): (Vec<usize>, Vec<usize>) = match mode {
        "numpy" => (target, t.shape.clone()),
        "bidirectional" => {
            let out = super::broadcast::broadcast_pair(&t.shape, &target).ok_or_else(|| {
                cx.err(format!("{} and {} do not broadcast", fmt_shape(&t.shape), fmt_shape(&target)))
            })?;
            (out, t.shape.clone())
        }
        "explicit" => {
            let axes = cx.int_input(2)?;
            if axes.len() != t.shape.len() {
                return Err(cx.err("axes_mapping must name one axis per input axis"));
            }
            let mut aligned = vec![1usize; target.len()];
            let mut last: Option<usize> = None;
            for (k, &a) in axes.iter().enumerate() {
                let a = usize::try_from(a)
                    .ok()
                    .filter(|&a| a < target.len() && last.is_none_or(|l| a > l))
                    .ok_or_else(|| cx.err(format!("bad axes_mapping {axes:?}")))?;
                aligned[a] = t.shape[k];
                last = Some(a);
            }
            (target, aligned)
        }
        other => return Err(cx.err(format!("unknown mode \"{other}\""))),
    };
    cx.count(&out)?;
    let strides = super::broadcast::strides_into(&aligned, &out)
        .ok_or_else(|| cx.err(format!("{} does not broadcast to {}", fmt_shape(&t.shape), fmt_shape(&out))))?;
    let data = dispatch!(&t.data, permute(cx, &t.data, &out, &strides))?;
    Ok(vec![cx.tensor(t.element_type, out, data)?])
}

/// DepthToSpace-1 (`to_space`) and SpaceToDepth-1 over `[N, C, D1..Dk]` with `block_size` `bs`:
/// DepthToSpace output `(n, c', d_i·bs + b_i)` reads input channel `f(b)·C' + c'`
/// (`blocks_first`) or `c'·bs^k + f(b)` (`depth_first`) at `(d_i)`, `f` the row-major index of
/// `b` in the block; SpaceToDepth is the inverse.
pub(crate) fn space_depth(cx: &Ctx<'_>, to_space: bool) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let t = cx.input(0)?;
    let blocks_first = match cx.node.attr_required("mode")?.trim() {
        "blocks_first" => true,
        "depth_first" => false,
        other => return Err(cx.err(format!("unknown mode \"{other}\""))),
    };
    let bs = usize::try_from(cx.node.attr_u64("block_size")?)
        .ok()
        .filter(|&b| b > 0)
        .ok_or_else(|| cx.err("block_size must be positive"))?;
    let rank = t.shape.len();
    if !(3..=8).contains(&rank) {
        return Err(cx.err(format!("input rank {rank} is not 3 to 8")));
    }
    let k = rank - 2;
    let blocks = (0..k).try_fold(1usize, |a, _| a.checked_mul(bs)).ok_or_else(|| cx.err("block too large"))?;
    let (n, c) = (t.shape[0], t.shape[1]);
    // Shapes of the "depth" side [N, C', ..small] and the "space" side [N, C'/.., ..large].
    let (out, cp): (Vec<usize>, usize) = if to_space {
        if c % blocks != 0 {
            return Err(cx.err(format!("channels {c} are not divisible by {blocks}")));
        }
        let mut o = vec![n, c / blocks];
        for &d in &t.shape[2..] {
            o.push(d.checked_mul(bs).ok_or_else(|| cx.err("output too large"))?);
        }
        (o, c / blocks)
    } else {
        if t.shape[2..].iter().any(|&d| d % bs != 0) {
            return Err(cx.err(format!("spatial dims {:?} are not divisible by {bs}", &t.shape[2..])));
        }
        let mut o = vec![n, c * blocks];
        o.extend(t.shape[2..].iter().map(|&d| d / bs));
        (o, c)
    };
    let total = cx.count(&out)?;
    // For every element of the space-side tensor, its flat index in the depth-side tensor.
    let space_shape: Vec<usize> = if to_space { out.clone() } else { t.shape.clone() };
    let depth_shape: Vec<usize> = if to_space { t.shape.clone() } else { out.clone() };
    let ds = super::broadcast::row_major_strides(&depth_shape);
    let mut map = cx.with_capacity::<usize>(total)?;
    let mut coord = [0usize; 8];
    for _ in 0..total {
        // coord is a space-side coordinate: (n, c', d_i·bs + b_i).
        let (mut f, mut pos) = (0usize, 0usize);
        for i in 0..k {
            let (d, b) = (coord[2 + i] / bs, coord[2 + i] % bs);
            f = f * bs + b;
            pos += d * ds[2 + i];
        }
        let ch = if blocks_first { f * cp + coord[1] } else { coord[1] * blocks + f };
        map.push(coord[0] * ds[0] + ch * ds[1] + pos);
        for a in (0..rank).rev() {
            coord[a] += 1;
            if coord[a] < space_shape[a] {
                break;
            }
            coord[a] = 0;
        }
    }
    let data = dispatch!(&t.data, space_depth_t(cx, &t.data, &map, to_space))?;
    Ok(vec![cx.tensor(t.element_type, out, data)?])
}

/// Applies the space→depth index map: gathers for DepthToSpace, scatters for SpaceToDepth.
fn space_depth_t<T: Elem>(
    cx: &Ctx<'_>,
    data: &TensorData,
    map: &[usize],
    to_space: bool,
) -> Result<TensorData, FallbackError> {
    let v = T::slice(data).ok_or_else(|| cx.err("element type mismatch"))?;
    let mut o = cx.filled(map.len(), T::ZERO)?;
    if to_space {
        for (o, &m) in o.iter_mut().zip(map) {
            *o = v[m];
        }
    } else {
        for (i, &m) in map.iter().enumerate() {
            o[m] = v[i];
        }
    }
    Ok(T::wrap(o))
}

/// Slice positions along one axis of size `d` (Slice-8 clamping): `start, start+step, ...` before
/// `stop`; `full_start`/`full_stop` replace the bound by the axis end in the step's direction.
fn slice_positions(
    d: usize,
    start: i64,
    stop: i64,
    step: i64,
    full_start: bool,
    full_stop: bool,
) -> Vec<Option<usize>> {
    let d = d as i128;
    let s = step as i128;
    let norm = |v: i64| if v < 0 { v as i128 + d } else { v as i128 };
    let (mut b, mut e) = (norm(start), norm(stop));
    let mut m = Vec::new();
    if s > 0 {
        b = if full_start { 0 } else { b.clamp(0, d) };
        e = if full_stop { d } else { e.clamp(0, d) };
        while b < e {
            m.push(Some(b as usize));
            b += s;
        }
    } else {
        b = if full_start { d - 1 } else { b.clamp(-1, d - 1) };
        e = if full_stop { -1 } else { e.clamp(-1, d - 1) };
        while b > e {
            m.push(Some(b as usize));
            b += s;
        }
    }
    m
}

/// StridedSlice-1: entry `i` of begin/end/stride (stride default 1) applies to one input axis,
/// unless its masks say otherwise (a 1 sets the flag, short masks are padded with 0):
/// `begin_mask`/`end_mask` ignore that bound (the axis end in the stride's direction);
/// `new_axis_mask` inserts a size-1 output axis; `shrink_axis_mask` indexes the axis by `begin`
/// (negative counts from the end) and drops it; `ellipsis_mask` stands for the full input axes the
/// other entries leave. Uncovered input axes are kept whole; clamping is Slice-8's.
pub(crate) fn strided_slice(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(3, 4)?;
    let t = cx.input(0)?;
    let rank = t.shape.len();
    let (begin, end) = (cx.int_input(1)?, cx.int_input(2)?);
    let stride = if cx.inputs.len() == 4 { cx.int_input(3)? } else { vec![1; begin.len()] };
    if end.len() != begin.len() || stride.len() != begin.len() {
        return Err(cx.err("begin, end and stride must have the same length"));
    }
    let mask = |name: &str| -> Result<Vec<bool>, FallbackError> {
        let v = match cx.node.attr(name) {
            None => vec![],
            Some(s) if s.trim().is_empty() => vec![],
            Some(_) => cx.node.attr_i64_list(name)?,
        };
        Ok((0..begin.len()).map(|i| v.get(i).is_some_and(|&x| x == 1)).collect())
    };
    let (bm, em) = (mask("begin_mask")?, mask("end_mask")?);
    let (nm, sm, elm) = (mask("new_axis_mask")?, mask("shrink_axis_mask")?, mask("ellipsis_mask")?);
    if elm.iter().filter(|&&e| e).count() > 1 {
        return Err(cx.err("more than one ellipsis"));
    }
    let mut maps: Vec<Vec<Option<usize>>> = Vec::with_capacity(rank);
    let mut out_shape = Vec::new();
    let mut ax = 0usize;
    for i in 0..begin.len() {
        if elm[i] {
            // Input axes consumed by the entries after the ellipsis.
            let after = (i + 1..begin.len()).filter(|&j| !nm[j]).count();
            let full = rank.checked_sub(ax + after).ok_or_else(|| cx.err("too many slice entries for the rank"))?;
            for _ in 0..full {
                maps.push((0..t.shape[ax]).map(Some).collect());
                out_shape.push(t.shape[ax]);
                ax += 1;
            }
            continue;
        }
        if nm[i] {
            out_shape.push(1);
            continue;
        }
        let d = *t.shape.get(ax).ok_or_else(|| cx.err("too many slice entries for the rank"))?;
        if sm[i] {
            let b = begin[i] as i128;
            let idx = if b < 0 { b + d as i128 } else { b };
            if !(0..d as i128).contains(&idx) {
                return Err(cx.err(format!("shrink index {} is outside axis {ax} of size {d}", begin[i])));
            }
            maps.push(vec![Some(idx as usize)]);
        } else {
            if stride[i] == 0 {
                return Err(cx.err("stride must not be 0"));
            }
            let m = slice_positions(d, begin[i], end[i], stride[i], bm[i], em[i]);
            out_shape.push(m.len());
            maps.push(m);
        }
        ax += 1;
    }
    for a in ax..rank {
        maps.push((0..t.shape[a]).map(Some).collect());
        out_shape.push(t.shape[a]);
    }
    let data = dispatch!(&t.data, gather_axes_data(cx, t, &maps, None))?;
    Ok(vec![cx.tensor(t.element_type, out_shape, data)?])
}
