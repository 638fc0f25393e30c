//! LSTMSequence-5 (and LSTMCell-4), as `ov::reference::lstm_sequence` computes it (`reference/sequences.hpp`,
//! `cell_pass`, and `reference/lstm_cell.hpp`, `lstm_cell`).
//!
//! Inputs: X `[B, T, I]`, initial H and C `[B, D, Hs]`, sequence_lengths `[B]`, W `[D, 4Hs, I]`,
//! R `[D, 4Hs, Hs]`, B `[D, 4Hs]`; gates in OpenVINO's `fico` order (forget, input, cell,
//! output). Outputs: Y `[B, D, T, Hs]`, Ho and Co `[B, D, Hs]`.
//!
//! One cell step (`lstm_cell`), per batch row, each step one f32 operation:
//! - `xw[g] = Σ_k x[k]·W[g,k]` and `hr[g] = Σ_k h[k]·R[g,k]` (each from 0, k ascending);
//!   `gate[g] = xw[g] + (hr[g] + B[g])` (OpenVINO adds the bias to `H·Rᵀ` first);
//! - with `clip > 0`, `gate = clamp(gate, −clip, clip)` before each gate activation (not before h);
//! - `f = act_f(gate_f)`, `i = act_f(gate_i)`, `c = act_g(gate_c)`, `o = act_f(gate_o)`;
//! - `C' = f·C + i·c` (products rounded, then the sum); `H' = o · act_h(C')`.
//!
//! Sequence (`cell_pass`): a reverse direction first reverses each batch row's first
//! `sequence_lengths[b]` time steps. When some length differs from T, after each step the rows
//! whose length is already exhausted get H and C reset to 0 (they keep running on zeros), their Y
//! entries are 0, and the final Ho/Co of each row are its state after its last valid step (0 for
//! length 0). A reverse direction reverses Y back the same way. Bidirectional runs a forward pass
//! with direction 0's weights and a reverse pass with direction 1's, stacked on axis 1.
//!
//! Activations: `sigmoid` = `1 / (1 + exp(−x))`, `tanh`, `relu` = `x > 0 ? x : 0` (`alpha`/`beta`
//! are not used by these).

use super::movement::data::{checked_count, float_tensor, float_values, input, int_values};
use super::{OpCtx, OpResult};
use crate::error::{op_err, RefError};
use conform_ir::{Node, Tensor};

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(ctx: &OpCtx<'_>) -> OpResult {
    match (ctx.node.op_type.as_str(), ctx.node.version.as_str()) {
        ("LSTMSequence", "opset5") => Some(lstm_sequence(ctx.node, ctx.inputs)),
        ("LSTMCell", "opset4") => Some(lstm_cell_op(ctx.node, ctx.inputs)),
        _ => None,
    }
}

/// An activation function of the recurrent ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Sigmoid,
    Tanh,
    Relu,
}

impl Activation {
    fn parse(node: &Node, s: &str) -> Result<Self, RefError> {
        match s.trim() {
            "sigmoid" => Ok(Activation::Sigmoid),
            "tanh" => Ok(Activation::Tanh),
            "relu" => Ok(Activation::Relu),
            other => Err(op_err(node, format!("LSTMSequence: activation \"{other}\" is not supported"))),
        }
    }

    /// Applies the activation in f32.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
        }
    }
}

/// Cell parameters shared by all steps of one direction.
#[derive(Debug, Clone)]
pub struct CellParams<'a> {
    /// `[4Hs, I]`, fico.
    pub w: &'a [f32],
    /// `[4Hs, Hs]`, fico.
    pub r: &'a [f32],
    /// `[4Hs]`, fico.
    pub b: &'a [f32],
    /// Input size I.
    pub input_size: usize,
    /// Hidden size Hs.
    pub hidden: usize,
    /// f, g, h.
    pub act: [Activation; 3],
    /// Clip (≤ 0: none).
    pub clip: f32,
}

/// One LSTM cell step for `batch` rows: `x` `[batch, I]`, `h`/`c` `[batch, Hs]` → new (h, c).
pub fn lstm_cell(p: &CellParams<'_>, batch: usize, x: &[f32], h: &[f32], c: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let hs = p.hidden;
    let mut h_out = vec![0f32; batch * hs];
    let mut c_out = vec![0f32; batch * hs];
    let mut gates = vec![0f32; 4 * hs];
    for bi in 0..batch {
        let xr = &x[bi * p.input_size..(bi + 1) * p.input_size];
        let hr_row = &h[bi * hs..(bi + 1) * hs];
        for (g, gate) in gates.iter_mut().enumerate() {
            let mut xw = 0f32;
            for (k, &xv) in xr.iter().enumerate() {
                xw += xv * p.w[g * p.input_size + k];
            }
            let mut hr = 0f32;
            for (k, &hv) in hr_row.iter().enumerate() {
                hr += hv * p.r[g * hs + k];
            }
            let hrb = hr + p.b[g];
            *gate = xw + hrb;
        }
        let activate = |v: f32, a: Activation| {
            let v = if p.clip > 0.0 {
                let (lo, hi) = (-p.clip, p.clip);
                if v < lo {
                    lo
                } else if v > hi {
                    hi
                } else {
                    v
                }
            } else {
                v
            };
            a.apply(v)
        };
        for j in 0..hs {
            let f = activate(gates[j], p.act[0]);
            let i = activate(gates[hs + j], p.act[0]);
            let cc = activate(gates[2 * hs + j], p.act[1]);
            let o = activate(gates[3 * hs + j], p.act[0]);
            let t1 = f * c[bi * hs + j];
            let t2 = i * cc;
            let c_new = t1 + t2;
            c_out[bi * hs + j] = c_new;
            h_out[bi * hs + j] = o * p.act[2].apply(c_new);
        }
    }
    (h_out, c_out)
}

/// `reverse_sequence` on a `[B, T, F]` buffer: each row's first `len[b]` steps reversed.
fn reverse_rows(data: &[f32], batch: usize, steps: usize, feat: usize, lens: &[usize]) -> Vec<f32> {
    let mut out = data.to_vec();
    for (b, &len) in lens.iter().enumerate().take(batch) {
        let l = len.min(steps);
        for t in 0..l {
            let src = (b * steps + (l - 1 - t)) * feat;
            let dst = (b * steps + t) * feat;
            out[dst..dst + feat].copy_from_slice(&data[src..src + feat]);
        }
    }
    out
}

/// One direction (`cell_pass`): returns Y `[B, T, Hs]`, Ho and Co `[B, Hs]`.
#[allow(clippy::too_many_arguments)]
pub fn cell_pass(
    p: &CellParams<'_>,
    x: &[f32],
    batch: usize,
    steps: usize,
    h0: &[f32],
    c0: &[f32],
    lens: &[i64],
    reverse: bool,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let hs = p.hidden;
    let ulens: Vec<usize> = lens.iter().map(|&l| usize::try_from(l).unwrap_or(0)).collect();
    let enable_mask = lens.iter().any(|&l| l != steps as i64);
    let xs = if reverse { reverse_rows(x, batch, steps, p.input_size, &ulens) } else { x.to_vec() };
    let mut h = h0.to_vec();
    let mut c = c0.to_vec();
    let mut h_list = vec![vec![0f32; batch * hs]; steps];
    let mut c_list = vec![vec![0f32; batch * hs]; steps];
    let mut xt = vec![0f32; batch * p.input_size];
    for t in 0..steps {
        for b in 0..batch {
            let src = (b * steps + t) * p.input_size;
            xt[b * p.input_size..(b + 1) * p.input_size].copy_from_slice(&xs[src..src + p.input_size]);
        }
        let (hn, cn) = lstm_cell(p, batch, &xt, &h, &c);
        h = hn;
        c = cn;
        if enable_mask {
            for b in 0..batch {
                if t < ulens[b] {
                    h_list[t][b * hs..(b + 1) * hs].copy_from_slice(&h[b * hs..(b + 1) * hs]);
                    c_list[t][b * hs..(b + 1) * hs].copy_from_slice(&c[b * hs..(b + 1) * hs]);
                }
            }
            if steps - t > 1 {
                h.clone_from(&h_list[t]);
                c.clone_from(&c_list[t]);
            } else {
                for (b, &len) in ulens.iter().enumerate().take(batch) {
                    let range = b * hs..(b + 1) * hs;
                    match len.checked_sub(1).filter(|&i| i < steps) {
                        Some(idx) => {
                            h[range.clone()].copy_from_slice(&h_list[idx][range.clone()]);
                            c[range.clone()].copy_from_slice(&c_list[idx][range]);
                        }
                        None => {
                            h[range.clone()].fill(0.0);
                            c[range].fill(0.0);
                        }
                    }
                }
            }
        } else {
            h_list[t].clone_from(&h);
        }
    }
    // Y [B, T, Hs] from the per-step lists.
    let mut y = vec![0f32; batch * steps * hs];
    for (t, ht) in h_list.iter().enumerate() {
        for b in 0..batch {
            let dst = (b * steps + t) * hs;
            y[dst..dst + hs].copy_from_slice(&ht[b * hs..(b + 1) * hs]);
        }
    }
    if reverse {
        y = reverse_rows(&y, batch, steps, hs, &ulens);
    }
    (y, h, c)
}

/// The activations and clip attributes shared by LSTMCell and LSTMSequence.
fn activations_and_clip(node: &Node) -> Result<([Activation; 3], f32), RefError> {
    let acts_raw = node.attr("activations").unwrap_or("sigmoid, tanh, tanh");
    let acts: Vec<Activation> = acts_raw.split(',').map(|s| Activation::parse(node, s)).collect::<Result<_, _>>()?;
    let act: [Activation; 3] =
        acts.try_into().map_err(|_| op_err(node, format!("LSTM: activations \"{acts_raw}\" must name 3 functions")))?;
    let clip = node.attr_parse_or::<f64>("clip", 0.0, "a number")? as f32;
    Ok((act, clip))
}

/// LSTMCell-4: one step, inputs X `[B, I]`, H and C `[B, Hs]`, W `[4Hs, I]`, R `[4Hs, Hs]`,
/// B `[4Hs]`; outputs H and C `[B, Hs]` (the same `lstm_cell` as the sequence).
fn lstm_cell_op(node: &Node, inputs: &[&Tensor]) -> Result<Vec<Tensor>, RefError> {
    let x_t = input(node, inputs, 0)?;
    let hidden =
        usize::try_from(node.attr_u64("hidden_size")?).map_err(|_| op_err(node, "LSTMCell: hidden_size too large"))?;
    let g4 = hidden.checked_mul(4).ok_or_else(|| op_err(node, "LSTMCell: hidden_size too large"))?;
    let (batch, input_size) = match x_t.shape.as_slice() {
        &[b, i] => (b, i),
        s => return Err(op_err(node, format!("LSTMCell: X must be [batch, input], got {s:?}"))),
    };
    let names = ["initial_hidden_state", "initial_cell_state", "W", "R", "B"];
    let shapes: [Vec<usize>; 5] =
        [vec![batch, hidden], vec![batch, hidden], vec![g4, input_size], vec![g4, hidden], vec![g4]];
    let mut vals = Vec::with_capacity(5);
    for (k, (name, shape)) in names.iter().zip(&shapes).enumerate() {
        let t = input(node, inputs, k + 1)?;
        if &t.shape != shape {
            return Err(op_err(node, format!("LSTMCell: {name} has shape {:?}, expected {shape:?}", t.shape)));
        }
        vals.push(float_values(node, t, name)?);
    }
    let (act, clip) = activations_and_clip(node)?;
    let x = float_values(node, x_t, "X")?;
    let p = CellParams { w: &vals[2], r: &vals[3], b: &vals[4], input_size, hidden, act, clip };
    let (h, c) = lstm_cell(&p, batch, &x, &vals[0], &vals[1]);
    let et = x_t.element_type;
    Ok(vec![float_tensor(node, et, vec![batch, hidden], h)?, float_tensor(node, et, vec![batch, hidden], c)?])
}

fn lstm_sequence(node: &Node, inputs: &[&Tensor]) -> Result<Vec<Tensor>, RefError> {
    let x_t = input(node, inputs, 0)?;
    let h_t = input(node, inputs, 1)?;
    let c_t = input(node, inputs, 2)?;
    let lens = int_values(node, input(node, inputs, 3)?, "LSTMSequence sequence_lengths")?;
    let w_t = input(node, inputs, 4)?;
    let r_t = input(node, inputs, 5)?;
    let b_t = input(node, inputs, 6)?;
    let hidden = usize::try_from(node.attr_u64("hidden_size")?)
        .map_err(|_| op_err(node, "LSTMSequence: hidden_size too large"))?;
    let direction = node.attr("direction").map(str::trim).unwrap_or("forward");
    let dirs: &[bool] = match direction {
        "forward" => &[false],
        "reverse" => &[true],
        "bidirectional" => &[false, true],
        other => return Err(op_err(node, format!("LSTMSequence: unknown direction \"{other}\""))),
    };
    let d = dirs.len();
    let g4 = hidden.checked_mul(4).ok_or_else(|| op_err(node, "LSTMSequence: hidden_size too large"))?;
    let (act, clip) = activations_and_clip(node)?;

    let (batch, steps, input_size) = match x_t.shape.as_slice() {
        &[b, t, i] => (b, t, i),
        s => return Err(op_err(node, format!("LSTMSequence: X must be [batch, seq, input], got {s:?}"))),
    };
    let expect = |t: &Tensor, name: &str, shape: &[usize]| -> Result<(), RefError> {
        if t.shape != shape {
            return Err(op_err(node, format!("LSTMSequence: {name} has shape {:?}, expected {shape:?}", t.shape)));
        }
        Ok(())
    };
    expect(h_t, "initial_hidden_state", &[batch, d, hidden])?;
    expect(c_t, "initial_cell_state", &[batch, d, hidden])?;
    expect(w_t, "W", &[d, g4, input_size])?;
    expect(r_t, "R", &[d, g4, hidden])?;
    expect(b_t, "B", &[d, g4])?;
    if lens.len() != batch {
        return Err(op_err(node, format!("LSTMSequence: {} sequence lengths for batch {batch}", lens.len())));
    }
    if let Some(&l) = lens.iter().find(|&&l| l < 0) {
        return Err(op_err(node, format!("LSTMSequence: negative sequence length {l}")));
    }
    checked_count(node, &[batch, d, steps, hidden])?;
    let x = float_values(node, x_t, "X")?;
    let h0 = float_values(node, h_t, "initial_hidden_state")?;
    let c0 = float_values(node, c_t, "initial_cell_state")?;
    let w = float_values(node, w_t, "W")?;
    let r = float_values(node, r_t, "R")?;
    let b = float_values(node, b_t, "B")?;

    let mut y = vec![0f32; batch * d * steps * hidden];
    let mut ho = vec![0f32; batch * d * hidden];
    let mut co = vec![0f32; batch * d * hidden];
    for (di, &reverse) in dirs.iter().enumerate() {
        let p = CellParams {
            w: &w[di * g4 * input_size..(di + 1) * g4 * input_size],
            r: &r[di * g4 * hidden..(di + 1) * g4 * hidden],
            b: &b[di * g4..(di + 1) * g4],
            input_size,
            hidden,
            act,
            clip,
        };
        // This direction's slice of the initial states: [B, d, Hs] -> [B, Hs].
        let pick = |s: &[f32]| -> Vec<f32> {
            (0..batch).flat_map(|bi| s[(bi * d + di) * hidden..(bi * d + di + 1) * hidden].iter().copied()).collect()
        };
        let (yd, hd, cd) = cell_pass(&p, &x, batch, steps, &pick(&h0), &pick(&c0), &lens, reverse);
        for bi in 0..batch {
            let src = bi * steps * hidden;
            let dst = (bi * d + di) * steps * hidden;
            y[dst..dst + steps * hidden].copy_from_slice(&yd[src..src + steps * hidden]);
            let dst = (bi * d + di) * hidden;
            ho[dst..dst + hidden].copy_from_slice(&hd[bi * hidden..(bi + 1) * hidden]);
            co[dst..dst + hidden].copy_from_slice(&cd[bi * hidden..(bi + 1) * hidden]);
        }
    }
    let et = x_t.element_type;
    Ok(vec![
        float_tensor(node, et, vec![batch, d, steps, hidden], y)?,
        float_tensor(node, et, vec![batch, d, hidden], ho)?,
        float_tensor(node, et, vec![batch, d, hidden], co)?,
    ])
}
