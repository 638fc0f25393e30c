//! FakeQuantize-1 as an op (the arithmetic is in `crate::fq`).
//!
//! Validation, from the specification (`fake-quantize-1.rst`) and `src/core/src/op/fake_quantize.cpp`:
//! - `levels` in 2..=65536 (OpenVINO's op accepts 1 but every plugin rejects it; 65536 is the
//!   largest count whose `levels − 1` and steps are exact in f32 — SPEC §1.1);
//! - `auto_broadcast="none"`: every range input must have X's shape;
//! - `numpy` (default) and `pdpd`: each range input must broadcast **to X's shape** on its own.
//!
//! SPEC §1.1 quirk, decided here: OpenVINO validates with `broadcast_merge_into`, so X `[2,1]`
//! with ranges `[1,3]` is accepted and evaluation silently reads column 0 of the ranges. We
//! **reject** it with a typed error: the output would silently depend on which range values the
//! reference happens to read, and no corpus model relies on it. A range input that broadcasts to X
//! in the numpy sense (the normal case) is evaluated exactly as OpenVINO does.

use super::elementwise::{float_input, float_output, input};
use super::{OpCtx, OpResult};
use crate::error::{op_err, RefError};
use crate::fq::{fake_quantize, FqRanges};
use conform_ir::Tensor;

/// Largest `levels` value accepted.
pub const MAX_LEVELS: u64 = 65536;

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(ctx: &OpCtx<'_>) -> OpResult {
    (ctx.node.op_type == "FakeQuantize").then(|| run(ctx))
}

fn run(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let levels = node.attr_u64("levels")?;
    if !(2..=MAX_LEVELS).contains(&levels) {
        return Err(op_err(node, format!("levels={levels} is outside 2..={MAX_LEVELS}")));
    }
    let x = input(ctx, 0, "5")?;
    let ranges: Vec<&Tensor> = (1..5).map(|p| input(ctx, p, "5")).collect::<Result<_, _>>()?;
    let mode = node.attr("auto_broadcast").map(str::trim).unwrap_or("numpy");
    const NAMES: [&str; 4] = ["input_low", "input_high", "output_low", "output_high"];
    match mode {
        "none" => {
            for (r, name) in ranges.iter().zip(NAMES) {
                if r.shape != x.shape {
                    return Err(op_err(
                        node,
                        format!("auto_broadcast=none: {name} has shape {:?}, X has {:?}", r.shape, x.shape),
                    ));
                }
            }
        }
        "numpy" | "pdpd" => {}
        other => return Err(op_err(node, format!("auto_broadcast=\"{other}\" is not numpy, none or pdpd"))),
    }
    let xv = float_input(node, x, "X")?;
    let rv: Vec<Vec<f32>> =
        ranges.iter().zip(NAMES).map(|(r, name)| float_input(node, r, name)).collect::<Result<_, _>>()?;
    let fr = FqRanges {
        il: (&rv[0], &ranges[0].shape),
        ih: (&rv[1], &ranges[1].shape),
        ol: (&rv[2], &ranges[2].shape),
        oh: (&rv[3], &ranges[3].shape),
    };
    let y = fake_quantize(&xv, &x.shape, fr, levels).map_err(|e| op_err(node, e.to_string()))?;
    // f16/bf16 data: computed in f32 and rounded once (SPEC §1.2).
    Ok(vec![float_output(node, x.element_type, x.shape.clone(), y)?])
}
