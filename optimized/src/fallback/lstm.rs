//! LSTMSequence-5 in f32, per `reference/FP32.md`: per step and gate row `j`,
//! `xw = Σ_k X·W[j,k]` and `hr = Σ_k H·R[j,k]` (k ascending, each from 0), then `g = xw + (hr + B[j])`
//! (OpenVINO's `lstm_cell` adds the bias to `H·Rᵀ` first; FP32.md's row says `(xw + hr) + B`, the
//! reference follows OpenVINO, and so does this kernel);
//! gates in OpenVINO's `fico` order (forget, input, cell candidate, output);
//! `C = f·C + i·c` as `t1 = f·C; t2 = i·c; C = t1 + t2`; `H = o·tanh(C)`.
//! Steps at or beyond a batch item's sequence length write zeros to Y; the final Ho/Co of an item
//! are its state after its last valid step, or zeros when some length differs from the sequence
//! size and this item's length is 0 or exceeds it (`ov::reference::lstm_sequence`'s masking);
//! `reverse` walks each item's first `length` steps backwards.

use super::ctx::{Ctx, FallbackError};
use super::elementwise::sigmoid;
use conform_ir::shape::fmt_shape;
use conform_ir::Tensor;
use rayon::prelude::*;

/// An activation function of the cell.
#[derive(Clone, Copy)]
enum Act {
    Sigmoid,
    Tanh,
    Relu,
}

impl Act {
    fn parse(s: &str) -> Option<Act> {
        match s.trim() {
            "sigmoid" => Some(Act::Sigmoid),
            "tanh" => Some(Act::Tanh),
            "relu" => Some(Act::Relu),
            _ => None,
        }
    }

    #[inline]
    fn apply(self, x: f32) -> f32 {
        match self {
            Act::Sigmoid => sigmoid(x),
            Act::Tanh => x.tanh(),
            Act::Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
        }
    }
}

/// One LSTM cell's weights and attributes (one direction).
struct Cell<'a> {
    /// W `[4Hs, I]`.
    w: &'a [f32],
    /// R `[4Hs, Hs]`.
    r: &'a [f32],
    /// B `[4Hs]`.
    b: &'a [f32],
    /// Input size.
    ni: usize,
    /// Hidden size.
    hs: usize,
    /// Clip (0: none).
    clip: f32,
    /// f (gates), g (cell candidate), h (output) activations.
    acts: [Act; 3],
}

impl Cell<'_> {
    /// One step for one batch row: updates `h` and `c` in place (`gates` is scratch of `4Hs`).
    fn step(&self, xt: &[f32], h: &mut [f32], c: &mut [f32], gates: &mut [f32]) {
        let (ni, hs, clip) = (self.ni, self.hs, self.clip);
        let hp: &[f32] = h;
        gates.par_iter_mut().enumerate().with_min_len(64).for_each(|(j, g)| {
            let mut xw = 0.0f32;
            for (&xv, &wv) in xt.iter().zip(&self.w[j * ni..(j + 1) * ni]) {
                xw += xv * wv;
            }
            let mut hr = 0.0f32;
            for (&hv, &rv) in hp.iter().zip(&self.r[j * hs..(j + 1) * hs]) {
                hr += hv * rv;
            }
            let hrb = hr + self.b[j];
            let mut s = xw + hrb;
            if clip > 0.0 {
                s = if s < -clip {
                    -clip
                } else if s > clip {
                    clip
                } else {
                    s
                };
            }
            *g = s;
        });
        let [act_f, act_g, act_h] = self.acts;
        for k in 0..hs {
            let f = act_f.apply(gates[k]);
            let i = act_f.apply(gates[hs + k]);
            let cc = act_g.apply(gates[2 * hs + k]);
            let o = act_f.apply(gates[3 * hs + k]);
            let t1 = f * c[k];
            let t2 = i * cc;
            c[k] = t1 + t2;
            h[k] = o * act_h.apply(c[k]);
        }
    }
}

/// Reads `activations` (default sigmoid, tanh, tanh) and `clip` (default 0).
fn cell_attrs(cx: &Ctx<'_>) -> Result<([Act; 3], f32), FallbackError> {
    let node = cx.node;
    let acts: Vec<Act> = match node.attr("activations") {
        None => vec![Act::Sigmoid, Act::Tanh, Act::Tanh],
        Some(s) => s
            .split(',')
            .map(Act::parse)
            .collect::<Option<_>>()
            .ok_or_else(|| cx.err(format!("activations \"{s}\": sigmoid, tanh and relu are supported")))?,
    };
    let [f, g, h] = acts[..] else {
        return Err(cx.err("activations must list three functions"));
    };
    let clip = node.attr_parse_or::<f64>("clip", 0.0, "a number")? as f32;
    Ok(([f, g, h], clip))
}

/// LSTMCell-4: one step; inputs X `[B, I]`, H and C `[B, Hs]`, W `[4Hs, I]`, R `[4Hs, Hs]`,
/// B `[4Hs]`; outputs Ho and Co `[B, Hs]`.
pub(crate) fn lstm_cell(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(6, 6)?;
    let hs = usize::try_from(cx.node.attr_u64("hidden_size")?).map_err(|_| cx.err("hidden_size too large"))?;
    let g4 = hs.checked_mul(4).ok_or_else(|| cx.err("hidden_size too large"))?;
    let (acts, clip) = cell_attrs(cx)?;
    let (x, xs) = cx.f32_input(0)?;
    let [nb, ni] = xs[..] else {
        return Err(cx.err(format!("X has shape {}, [batch, input] expected", fmt_shape(xs))));
    };
    let (h0, h0s) = cx.f32_input(1)?;
    let (c0, c0s) = cx.f32_input(2)?;
    let (w, wsh) = cx.f32_input(3)?;
    let (r, rsh) = cx.f32_input(4)?;
    let (bias, bsh) = cx.f32_input(5)?;
    let checks: [(&str, &[usize], Vec<usize>); 5] = [
        ("initial_hidden_state", h0s, vec![nb, hs]),
        ("initial_cell_state", c0s, vec![nb, hs]),
        ("W", wsh, vec![g4, ni]),
        ("R", rsh, vec![g4, hs]),
        ("B", bsh, vec![g4]),
    ];
    for (name, got, want) in checks {
        if got != want.as_slice() {
            return Err(cx.err(format!("{name} has shape {}, expected {}", fmt_shape(got), fmt_shape(&want))));
        }
    }
    let mut h = h0.into_owned();
    let mut c = c0.into_owned();
    let mut gates = cx.zeros(g4)?;
    let cell = Cell { w: &w, r: &r, b: &bias, ni, hs, clip, acts };
    for b in 0..nb {
        let (hb, cb) = (&mut h[b * hs..(b + 1) * hs], &mut c[b * hs..(b + 1) * hs]);
        cell.step(&x[b * ni..(b + 1) * ni], hb, cb, &mut gates);
    }
    Ok(vec![cx.f32_tensor(vec![nb, hs], h)?, cx.f32_tensor(vec![nb, hs], c)?])
}

/// LSTMSequence-5 (inputs X, H0, C0, sequence_lengths, W, R, B; outputs Y, Ho, Co).
pub(crate) fn lstm_sequence(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(7, 7)?;
    let node = cx.node;
    let hs = usize::try_from(node.attr_u64("hidden_size")?).map_err(|_| cx.err("hidden_size too large"))?;
    let dirs: &[bool] = match node.attr("direction").map(str::trim).unwrap_or("forward") {
        "forward" => &[false],
        "reverse" => &[true],
        "bidirectional" => &[false, true],
        other => return Err(cx.err(format!("direction \"{other}\" is not known"))),
    };
    let ([act_f, act_g, act_h], clip) = cell_attrs(cx)?;
    let (x, xs) = cx.f32_input(0)?;
    let (h0, h0s) = cx.f32_input(1)?;
    let (c0, c0s) = cx.f32_input(2)?;
    let lens = cx.int_input(3)?;
    let (w, wsh) = cx.f32_input(4)?;
    let (r, rsh) = cx.f32_input(5)?;
    let (bias, bsh) = cx.f32_input(6)?;
    let nd = dirs.len();
    let [nb, nt, ni] = xs[..] else {
        return Err(cx.err(format!("X has shape {}, [batch, seq, input] expected", fmt_shape(xs))));
    };
    let g4 = 4 * hs;
    let checks: [(&str, &[usize], Vec<usize>); 5] = [
        ("initial_hidden_state", h0s, vec![nb, nd, hs]),
        ("initial_cell_state", c0s, vec![nb, nd, hs]),
        ("W", wsh, vec![nd, g4, ni]),
        ("R", rsh, vec![nd, g4, hs]),
        ("B", bsh, vec![nd, g4]),
    ];
    for (name, got, want) in checks {
        if got != want.as_slice() {
            return Err(cx.err(format!("{name} has shape {}, expected {}", fmt_shape(got), fmt_shape(&want))));
        }
    }
    if lens.len() != nb {
        return Err(cx.err(format!("sequence_lengths has {} values for batch {nb}", lens.len())));
    }
    let y_len = cx.count(&[nb, nd, nt, hs])?;
    let mut y = cx.zeros(y_len)?;
    let mut ho = cx.zeros(nb * nd * hs)?;
    let mut co = cx.zeros(nb * nd * hs)?;
    let mut gates = cx.zeros(g4)?;
    for (d, &reverse) in dirs.iter().enumerate() {
        let wd = &w[d * g4 * ni..(d + 1) * g4 * ni];
        let rd = &r[d * g4 * hs..(d + 1) * g4 * hs];
        let bd = &bias[d * g4..(d + 1) * g4];
        let masked = lens.iter().any(|&l| l != nt as i64);
        for b in 0..nb {
            let len = usize::try_from(lens[b]).unwrap_or(0).min(nt);
            let keeps_state = !masked || (lens[b] >= 1 && lens[b] <= nt as i64);
            let st = (b * nd + d) * hs;
            let mut h = h0[st..st + hs].to_vec();
            let mut c = c0[st..st + hs].to_vec();
            for step in 0..len {
                let t = if reverse { len - 1 - step } else { step };
                let xt = &x[(b * nt + t) * ni..][..ni];
                let cell = Cell { w: wd, r: rd, b: bd, ni, hs, clip, acts: [act_f, act_g, act_h] };
                cell.step(xt, &mut h, &mut c, &mut gates);
                y[((b * nd + d) * nt + t) * hs..][..hs].copy_from_slice(&h);
            }
            if keeps_state {
                ho[st..st + hs].copy_from_slice(&h);
                co[st..st + hs].copy_from_slice(&c);
            }
        }
    }
    Ok(vec![
        cx.f32_tensor(vec![nb, nd, nt, hs], y)?,
        cx.f32_tensor(vec![nb, nd, hs], ho)?,
        cx.f32_tensor(vec![nb, nd, hs], co)?,
    ])
}
