//! Data movement without arithmetic: Reshape, Squeeze, Unsqueeze, Transpose, Concat, Gather-8,
//! Slice-8, VariadicSplit, Pad-1/12. Elements are copied bit for bit, for any element type.

use super::broadcast::{min_rows, row_major_strides, rows_and_inner};
use super::ctx::{Ctx, FallbackError};
use super::elem::{dispatch, Elem};
use conform_ir::shape::fmt_shape;
use conform_ir::{Tensor, TensorData};
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
