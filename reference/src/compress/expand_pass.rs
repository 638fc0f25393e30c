//! `expand`: compressed weights of either form back to `Const(f32) → FakeQuantize`.
//!
//! * **compressed-fq** (any integer grid: signed, or Model Optimizer's u8 `[0, L−1]`): the
//!   Convert is folded into an f32 Const; the FakeQuantize is kept as it is, so its output is the
//!   same bit for bit (same input values, same ranges).
//! * **compressed-dq**: `(q − zp)·scale` is not always a FakeQuantize output (SPEC §2.1). The
//!   weights become the dequantized values `d = (q − zp)·scale` (f32, as the dq subgraph computes
//!   them) and the FakeQuantize gets `il = ol`, `ih = oh` per channel, with `ol`/`oh` chosen
//!   among nearby f32 values (see [`Fit::ranges`]) so that (a) OpenVINO's formulas give back
//!   exactly the stored scale and zero point (so that compressing again gives the same bytes)
//!   and (b) the FakeQuantize output is as close as possible to `d`. Where the natural weights
//!   would not select level `q − n` again, the tensor is expanded on the integer grid instead
//!   (`w = q`, `il = n`, `ih = n + L − 1`).
//!
//! Levels are not stored in the dq form; they are inferred from the storage type: i8 without a
//! zero point and all `q ≥ −127` → 255 on `[−127, 127]` (OpenVINO's symmetric 255-level
//! weights), otherwise the whole type (256 or 16 levels); i4 likewise with 15 / 16. When that grid
//! cannot re-derive every scale and zero point, the other grids of the type are tried.

use super::graph::{const_node, fq_node, Graph};
use super::quant::{dq_value, fused_value, scale_zero_point, signed_low, type_range, Grid, Operand};
use super::report::{Diff, Refusal, Report, TensorReport};
use super::{const_size, const_through_convert, read_const, CompressError};
use crate::broadcast::broadcast_shapes;
use crate::fq::{fake_quantize_scalar, fq_index};
use conform_ir::forms::WeightForm;
use conform_ir::{ElementType, Model};
use std::collections::HashMap;

/// Structure of a compressed-dq subgraph ending in a Multiply.
struct DqNodes {
    wq: usize,
    scale: usize,
    zp: Option<usize>,
}

fn integer_const_through_convert(model: &Model, node: usize) -> Option<usize> {
    let nd = model.node(node);
    if nd.op_type != "Convert" || nd.attr("destination_type").map(str::trim) != Some("f32") {
        return None;
    }
    let &(c, _) = model.sources_of(node).first()?;
    let et = model.node(c).constant?.element_type;
    matches!(et, ElementType::I8 | ElementType::U8 | ElementType::I4 | ElementType::U4).then_some(c)
}

fn match_dq(model: &Model, mul: usize) -> Option<DqNodes> {
    if model.node(mul).op_type != "Multiply" || model.sources_of(mul).len() != 2 {
        return None;
    }
    for k in 0..2 {
        let (a, _) = model.source_of(mul, k);
        let Some((scale, _)) = const_through_convert(model, mul, 1 - k) else { continue };
        let an = model.node(a);
        let (cv, zp) = if an.op_type == "Subtract" && model.sources_of(a).len() == 2 {
            let (cv, _) = model.source_of(a, 0);
            let Some((zp, _)) = const_through_convert(model, a, 1) else { continue };
            (cv, Some(zp))
        } else {
            (a, None)
        };
        if let Some(wq) = integer_const_through_convert(model, cv) {
            return Some(DqNodes { wq, scale, zp });
        }
    }
    None
}

/// Expands every compressed weight subgraph of `model`.
pub fn expand(model: &Model) -> Result<(Model, Report), CompressError> {
    let (m, r, _) = expand_with(model, None)?;
    Ok((m, r))
}

/// What an expanded FakeQuantize stood for, by its name: the form it came from and, for a dq
/// subgraph, the values `(q − zp)·scale` it replaced.
pub(crate) type Origins = HashMap<String, (WeightForm, Option<Vec<f32>>)>;

/// Expands the compressed subgraphs with at most `max_levels` levels (others are refused and
/// left as they are), returning where each new FakeQuantize came from, so that `compress` can
/// rewrite every weight canonically and report against the values it replaced.
pub(crate) fn expand_with(model: &Model, max_levels: Option<u64>) -> Result<(Model, Report, Origins), CompressError> {
    let mut origins = Origins::new();
    let mut g = Graph::from_model(model);
    let mut report = Report { command: "expand".into(), ..Report::default() };
    for &n in model.topo_order() {
        let node = model.node(n);
        if node.op_type == "FakeQuantize" && node.inputs.len() == 5 {
            let (src, _) = model.source_of(n, 0);
            if let Some(wq) = integer_const_through_convert(model, src) {
                let levels = node.attr_u64("levels").unwrap_or(0);
                if let Some(max) = max_levels.filter(|&m| levels > m) {
                    report.refused.push(Refusal {
                        name: node.name.clone(),
                        reason: format!(
                            "compressed-fq with levels {levels} > {max} cannot be stored in 4 bits; left as it is"
                        ),
                    });
                    continue;
                }
                report.tensors.push(fold_fq(model, &mut g, n, wq)?);
                origins.insert(node.name.clone(), (WeightForm::CompressedFq, None));
            } else if const_through_convert(model, n, 0).is_some() {
                report.unchanged.push(Refusal { name: node.name.clone(), reason: "already expanded".into() });
            }
        } else if let Some(dq) = match_dq(model, n) {
            match expand_dq(model, &mut g, n, &dq, max_levels)? {
                Ok((t, d)) => {
                    origins.insert(t.name.clone(), (WeightForm::CompressedDq, Some(d)));
                    report.tensors.push(t);
                }
                Err(reason) => report.refused.push(Refusal { name: node.name.clone(), reason }),
            }
        }
    }
    report.finish();
    Ok((g.finish()?, report, origins))
}

/// compressed-fq: fold `Convert(integer Const)` into an f32 Const.
fn fold_fq(model: &Model, g: &mut Graph, fq: usize, wq: usize) -> Result<TensorReport, CompressError> {
    let t = read_const(model, wq)?;
    let values = t.to_f32_vec();
    let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    let name = model.node(wq).name.clone();
    let wf = g.add_after(wq, const_node(name.clone(), ElementType::F32, &t.shape, &bytes), Some(bytes));
    g.disconnect_input(fq, 0);
    g.connect((wf, 0), (fq, 0));
    let qparams: u64 = (1..5)
        .map(|k| {
            let (s, _) = model.source_of(fq, k);
            if model.node(s).is_const() {
                const_size(model, s)
            } else {
                0
            }
        })
        .sum();
    let elements = values.len() as u64;
    Ok(TensorReport {
        name: model.node(fq).name.clone(),
        weights: name,
        form: "expanded".into(),
        from_form: "compressed-fq".into(),
        element_type: "f32".into(),
        levels: model.node(fq).attr_u64("levels").unwrap_or(0),
        elements,
        // The FakeQuantize reads the same f32 values (Convert of an integer is exact) with the
        // same ranges: identical by construction.
        not_bit_identical: 0,
        max_ulp: 0.0,
        max_ulp_steps: 0,
        max_abs: 0.0,
        stored_bytes: elements.saturating_mul(4),
        quant_param_bytes: qparams,
        fp32_equivalent_bytes: elements.saturating_mul(4),
        differs_above_input_high: None,
        differs_in_sign_of_zero: 0,
        note: format!("Convert from {} folded; FakeQuantize unchanged", t.element_type),
    })
}

/// The levels and grid of a dq tensor, inferred from its storage type (see the module docs).
fn infer_grid(et: ElementType, q: &[i64], has_zp: bool) -> Option<Grid> {
    let (lo, hi) = type_range(et)?;
    let min = q.iter().copied().min().unwrap_or(0);
    let symmetric = !has_zp && matches!(et, ElementType::I8 | ElementType::I4) && min > lo;
    let low = if symmetric { lo + 1 } else { lo };
    Some(Grid { levels: (hi - low + 1) as u64, low, element_type: et })
}

/// What choosing FakeQuantize ranges for a dq tensor needs.
struct Fit<'a> {
    scale: &'a Operand,
    zp: Option<&'a Operand>,
    /// Scale and zero point index maps from the range shape.
    s_in_r: &'a crate::broadcast::BroadcastIndex,
    z_in_r: Option<&'a crate::broadcast::BroadcastIndex>,
    /// Weight elements of each range element.
    members: &'a [Vec<usize>],
    q: &'a [i64],
    /// The dq values.
    d: &'a [f32],
}

impl Fit<'_> {
    /// Per range element, `(ol, oh)` among the f32 values within `SEARCH` steps of the exact
    /// `(n − zp)·scale` and `(n + L − 1 − zp)·scale`: one from which OpenVINO's formulas give back
    /// the stored scale and zero point, and with `closest` the one whose FakeQuantize outputs are
    /// closest to the dq values. Returns the ranges and how many range elements did not re-derive.
    fn ranges(&self, grid: &Grid, nr: usize, closest: bool) -> (Vec<f32>, Vec<f32>, usize) {
        let levels = grid.levels;
        let (lo, hi) = (grid.low as f64, grid.high() as f64);
        let mut ol = vec![0f32; nr];
        let mut oh = vec![0f32; nr];
        let mut unmatched = 0usize;
        for j in 0..nr {
            let s = self.scale.data.get(self.s_in_r.map(j)).copied().unwrap_or(f32::NAN);
            let z = match (self.zp, self.z_in_r) {
                (Some(zo), Some(m)) => zo.data.get(m.map(j)).copied().unwrap_or(0.0),
                _ => 0.0,
            };
            let members = self.members.get(j).map_or(&[][..], Vec::as_slice);
            let ol0 = ((lo - f64::from(z)) * f64::from(s)) as f32;
            let oh0 = ((hi - f64::from(z)) * f64::from(s)) as f32;
            // Candidates: ol' within SEARCH steps of ol0; oh' around ol' + D' for D' within a
            // few steps of (L−1)·scale — stepping oh' alone is too fine when |oh| ≪ |ol|, as
            // the scale depends on oh − ol.
            let d0 = ((hi - lo) * f64::from(s)) as f32;
            let mut combos: Vec<(f32, f32, i32)> = Vec::new();
            for a in -SEARCH..=SEARCH {
                let l = step(ol0, a);
                for k in -SEARCH - 1..=SEARCH + 1 {
                    let base = l + step(d0, k);
                    for b in -2..=2 {
                        combos.push((l, step(base, b), a.abs() + k.abs() + b.abs()));
                    }
                }
            }
            combos.push((ol0, oh0, 0));
            let rederives = |l: f32, h: f32| {
                let (s2, z2) = scale_zero_point(l, h, levels, grid.low);
                // Without a stored zero point, compressing again must drop it (|zp| < FLT_EPSILON)
                // or fuse it back into the same integers (OpenVINO fuses a zp of 7.6e-6, say).
                let same_zp = || match self.zp {
                    Some(_) => z2.to_bits() == z.to_bits(),
                    None => {
                        z2.abs() < f32::EPSILON
                            || members.iter().all(|&i| {
                                let qi = self.q.get(i).copied().unwrap_or(0);
                                fused_value(qi, z2, grid.element_type) == Some(qi)
                            })
                    }
                };
                s2.to_bits() == s.to_bits() && same_zp()
            };
            let ok: Vec<(f32, f32, i32)> = combos.iter().copied().filter(|&(l, h, _)| rederives(l, h)).collect();
            let matched = !ok.is_empty();
            let pool = if matched { ok } else { combos };
            let mut best: Option<(Rank, f32, f32)> = None;
            if !closest {
                best = pool.first().filter(|_| matched).map(|&(l, h, _)| ((false, 0.0, 0, 0), l, h));
            } else {
                for &(l, h, dist) in &pool {
                    let mut worst = 0f64;
                    let mut count = 0u64;
                    for &i in members {
                        let di = self.d.get(i).copied().unwrap_or(0.0);
                        let y = fake_quantize_scalar(di, l, h, l, h, levels);
                        if y.to_bits() != di.to_bits() {
                            count += 1;
                            let dd = (f64::from(y) - f64::from(di)).abs();
                            worst = worst.max(if dd.is_nan() { f64::MAX } else { dd });
                        }
                    }
                    let key = (!matched, worst, count, dist);
                    if best.as_ref().is_none_or(|(bk, _, _)| key.partial_cmp(bk) == Some(std::cmp::Ordering::Less)) {
                        best = Some((key, l, h));
                    }
                }
            }
            match best {
                Some((key, l, h)) => {
                    if key.0 {
                        unmatched += 1;
                    }
                    ol[j] = l;
                    oh[j] = h;
                }
                None => {
                    unmatched += 1;
                    ol[j] = ol0;
                    oh[j] = oh0;
                    if !closest {
                        // Only whether every channel re-derives is asked: this grid does not.
                        return (ol, oh, unmatched);
                    }
                }
            }
        }
        (ol, oh, unmatched)
    }
}

/// The grids to try for a dq tensor: the preferred one, then every other level count of the
/// storage type whose grid (`n = 0` unsigned, `−(L/2)` signed) holds all `q` and that
/// compressing again would store in the same type (more than 16 levels for 8-bit types).
fn candidate_grids(preferred: Grid, q: &[i64]) -> Vec<Grid> {
    let et = preferred.element_type;
    let Some((lo, hi)) = type_range(et) else { return vec![preferred] };
    let (min, max) = (q.iter().copied().min().unwrap_or(0), q.iter().copied().max().unwrap_or(0));
    let full = (hi - lo + 1) as u64;
    let least = if matches!(et, ElementType::I8 | ElementType::U8) { 17 } else { 3 };
    let unsigned = matches!(et, ElementType::U8 | ElementType::U4);
    let mut v = vec![preferred];
    for levels in (least..=full).rev() {
        let low = if unsigned { 0 } else { signed_low(levels) };
        let g = Grid { levels, low, element_type: et };
        if g != preferred && low <= min && g.high() >= max && low >= lo && g.high() <= hi {
            v.push(g);
        }
    }
    v
}

/// One f32 step up (`k > 0`) or down from `x`, `k` times.
fn step(x: f32, k: i32) -> f32 {
    let mut v = x;
    for _ in 0..k.unsigned_abs() {
        v = if k > 0 { v.next_up() } else { v.next_down() };
    }
    v
}

const SEARCH: i32 = 3;

/// A candidate's rank: (fails to re-derive scale/zp, max |Δ|, differing elements, ulp distance).
type Rank = (bool, f64, u64, i32);

/// compressed-dq → expanded.
fn expand_dq(
    model: &Model,
    g: &mut Graph,
    mul: usize,
    dq: &DqNodes,
    max_levels: Option<u64>,
) -> Result<Result<(TensorReport, Vec<f32>), String>, CompressError> {
    let t = read_const(model, dq.wq)?;
    let q = t.to_i64_vec();
    let shape = t.shape.clone();
    let st = read_const(model, dq.scale)?;
    let scale = Operand { data: st.to_f32_vec(), shape: st.shape };
    let zp = match dq.zp {
        Some(z) => {
            let zt = read_const(model, z)?;
            Some(Operand { data: zt.to_f32_vec(), shape: zt.shape })
        }
        None => None,
    };
    let Some(grid) = infer_grid(t.element_type, &q, zp.is_some()) else {
        return Ok(Err(format!("weights of type {} are not a compressed storage type", t.element_type)));
    };
    if let Some(max) = max_levels.filter(|&m| grid.levels > m) {
        return Ok(Err(format!(
            "compressed-dq in {} ({} levels) cannot be stored in 4 bits",
            grid.element_type, grid.levels
        ) + &format!(" (more than {max} levels); left as it is")));
    }
    let zshape = zp.as_ref().map_or_else(Vec::new, |z| z.shape.clone());
    let Some(rshape) = broadcast_shapes(&scale.shape, &zshape) else {
        return Ok(Err("scale and zero point do not broadcast together".into()));
    };
    let rop = Operand { data: Vec::new(), shape: rshape.clone() };
    let (Some(rmap), Some(smap)) = (rop.index(&shape), scale.index(&shape)) else {
        return Ok(Err(format!(
            "scale/zero point of shape {rshape:?} do not broadcast to the weights' shape {shape:?}"
        )));
    };
    let zmap = match &zp {
        Some(z) => match z.index(&shape) {
            Some(m) => Some(m),
            None => return Ok(Err("zero point does not broadcast to the weights".into())),
        },
        None => None,
    };
    let nr = conform_ir::element_count(&rshape).unwrap_or(0);
    let s_in_r = scale.index(&rshape).ok_or_else(|| CompressError::Internal("scale vs range shape".into()))?;
    let z_in_r = match &zp {
        Some(z) => Some(z.index(&rshape).ok_or_else(|| CompressError::Internal("zp vs range shape".into()))?),
        None => None,
    };
    // The dequantized values, as the dq subgraph computes them.
    let d: Vec<f32> = (0..q.len())
        .map(|i| {
            let z = match (&zp, &zmap) {
                (Some(z), Some(m)) => Some(z.at(m, i)),
                _ => None,
            };
            dq_value(q[i], z, scale.at(&smap, i))
        })
        .collect();
    if let Some(i) = q.iter().position(|&v| v < grid.low || v > grid.high()) {
        return Ok(Err(format!("weight element {i} = {} outside the grid [{}, {}]", q[i], grid.low, grid.high())));
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); nr];
    for i in 0..q.len() {
        if let Some(m) = members.get_mut(rmap.map(i)) {
            m.push(i);
        }
    }
    // The levels are not stored: try the preferred grid, then every other grid of the storage
    // type that holds all q, until OpenVINO's formulas re-derive every scale and zero point.
    let fit = Fit {
        scale: &scale,
        zp: zp.as_ref(),
        s_in_r: &s_in_r,
        z_in_r: z_in_r.as_ref(),
        members: &members,
        q: &q,
        d: &d,
    };
    let mut chosen = None;
    for cand in candidate_grids(grid, &q) {
        let (ol, oh, unmatched) = fit.ranges(&cand, nr, false);
        if unmatched == 0 {
            chosen = Some((cand, ol, oh, 0));
            break;
        }
    }
    let (grid, ol, oh, unmatched) = match chosen {
        Some(c) => c,
        None => {
            let (ol, oh, unmatched) = fit.ranges(&grid, nr, true);
            (grid, ol, oh, unmatched)
        }
    };
    let levels = grid.levels;
    let (ol, oh) = if unmatched == 0 {
        // Now pick, among the re-deriving pairs, the closest to the dq values.
        let (ol, oh, _) = fit.ranges(&grid, nr, true);
        (ol, oh)
    } else {
        (ol, oh)
    };
    // Natural weights must select level q − n again; otherwise expand on the integer grid.
    let natural = (0..q.len()).all(|i| {
        let j = rmap.map(i);
        let (l, h) = (ol.get(j).copied().unwrap_or(0.0), oh.get(j).copied().unwrap_or(0.0));
        fq_index(d[i], l, h, levels) == Some(q[i] - grid.low)
    });
    let mut diff = Diff::default();
    for i in 0..q.len() {
        let j = rmap.map(i);
        let (l, h) = (ol.get(j).copied().unwrap_or(0.0), oh.get(j).copied().unwrap_or(0.0));
        let y = if natural {
            fake_quantize_scalar(d[i], l, h, l, h, levels)
        } else {
            fake_quantize_scalar(q[i] as f32, grid.low as f32, grid.high() as f32, l, h, levels)
        };
        diff.add(d[i], y, l.abs().max(h.abs()));
    }
    // Rewrite.
    let mul_node = model.node(mul);
    let mname = mul_node.name.clone();
    let wname = model.node(dq.wq).name.clone();
    let (wvals, ilv, ihv, ishape): (Vec<f32>, Vec<f32>, Vec<f32>, Vec<usize>) = if natural {
        (d.clone(), ol.clone(), oh.clone(), rshape.clone())
    } else {
        (q.iter().map(|&v| v as f32).collect(), vec![grid.low as f32], vec![grid.high() as f32], Vec::new())
    };
    let fb = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let wb = fb(&wvals);
    let wf = g.add_after(dq.wq, const_node(wname.clone(), ElementType::F32, &shape, &wb), Some(wb));
    let mut anchor = wf;
    let mut range_nodes = Vec::new();
    for (k, (vals, rsh)) in [(&ilv, &ishape), (&ihv, &ishape), (&ol, &rshape), (&oh, &rshape)].into_iter().enumerate() {
        let b = fb(vals);
        let names = ["input_low", "input_high", "output_low", "output_high"];
        anchor = g.add_after(anchor, const_node(format!("{mname}/{}", names[k]), ElementType::F32, rsh, &b), Some(b));
        range_nodes.push(anchor);
    }
    let mut fqn = fq_node(mname.clone(), levels, &shape, [&ishape, &ishape, &rshape, &rshape]);
    if let (Some(out), Some(orig)) = (fqn.outputs.first_mut(), mul_node.outputs.first()) {
        out.names = orig.names.clone();
        out.rt_info = orig.rt_info.clone();
    }
    fqn.rt_info = mul_node.rt_info.clone();
    let fq = g.add_after(anchor, fqn, None);
    g.connect((wf, 0), (fq, 0));
    for (k, &r) in range_nodes.iter().enumerate() {
        g.connect((r, 0), (fq, k + 1));
    }
    g.redirect_consumers((mul, 0), (fq, 0));
    g.remove(mul);
    let elements = q.len() as u64;
    let nrb = (nr as u64) * 4;
    let qparams = if natural { 4 * nrb } else { 8 + 2 * nrb };
    let mut note = format!(
        "levels {levels} on [{}, {}]; {}",
        grid.low,
        grid.high(),
        if natural {
            "weights = (q - zp)*scale, il = ol, ih = oh"
        } else {
            "integer-grid weights (natural weights would change levels)"
        }
    );
    if unmatched > 0 {
        note.push_str(&format!("; {unmatched} channel(s) whose scale/zero point OpenVINO's formulas cannot re-derive"));
    }
    let report = TensorReport {
        name: mname,
        weights: wname,
        form: "expanded".into(),
        from_form: "compressed-dq".into(),
        element_type: "f32".into(),
        levels,
        elements,
        not_bit_identical: diff.not_bit_identical,
        max_ulp: diff.max_ulp,
        max_ulp_steps: diff.max_ulp_steps,
        max_abs: diff.max_abs,
        stored_bytes: elements.saturating_mul(4),
        quant_param_bytes: qparams,
        fp32_equivalent_bytes: elements.saturating_mul(4),
        differs_above_input_high: None,
        differs_in_sign_of_zero: diff.sign_of_zero,
        note,
    };
    Ok(Ok((report, d)))
}
