//! Weight compression and expansion between the three weight forms of SPEC.md §0.2, with an
//! exactness and memory report (issue 4, `conform compress` / `conform expand`).
//!
//! # API (for the CLI)
//!
//! ```text
//! compress(&model, &CompressOptions { form: Form::Fq | Form::Dq, bits: Bits::Auto | Eight | Four })
//!     -> Result<(Model, Report), CompressError>
//! expand(&model) -> Result<(Model, Report), CompressError>
//! ```
//! Write the returned model with the IR writer (it carries a freshly built blob holding only what
//! it uses). `Report` is `serde::Serialize` with the CONTRACT.md keys — `tensors` (list of
//! `name`, `form`, `elements`, `not_bit_identical`, `max_ulp`, `stored_bytes`,
//! `quant_param_bytes`, `fp32_equivalent_bytes`, plus `weights`, `from_form`, `element_type`,
//! `levels`, `max_ulp_steps`, `max_abs`, `differs_above_input_high`, `differs_in_sign_of_zero`,
//! `note`), `refused` (list of `name`, `reason`), `totals` (sums, largest differences, `ratio`,
//! `ratio_with_params`) — and more (`command`, `unchanged`). `max_ulp` is in units of `ulp(R)`,
//! `R = max(|ol|,|oh|)` of the element's channel (SPEC §2's unit). Its `Display` is the text
//! table. Refusals are not errors; a [`CompressError`] means bad input (exit 2).
//!
//! # What is rewritten
//!
//! * `compress --form fq`: every `Const [→ Convert(f32)] → FakeQuantize` whose four ranges are
//!   constant becomes `Const(i8|i4) → Convert(f32) → FakeQuantize(il = n, ih = n+L−1, ol, oh)`
//!   with the **signed** grid `n = −(L/2)` (256 → [−128, 127], 255 → [−127, 127], 16 → [−8, 7]).
//! * `compress --form dq`: the same pattern becomes `Const(i8|u8|i4|u4) → Convert(f32) →
//!   [Subtract(zp)] → Multiply(scale)`, computed as OpenVINO's `CompressWeightsWithFakeQuantize`
//!   (SPEC §2.1; [`quant`]).
//! * Already compressed weights (either form) are expanded first and compressed again, so the
//!   output is canonical: `compress(expand(compress(x))) == compress(x)` byte for byte.
//! * `expand`: compressed-fq (any integer grid, Model Optimizer's u8 `[0, L−1]` included) by folding
//!   the Convert; compressed-dq (with or without Subtract) into `Const(f32) → FakeQuantize`.
//!
//! See `reference/COMPRESSION.md` for the choices (signed grid, levels inferred when expanding,
//! range search) and the exactness each form achieves.

mod compress_pass;
mod expand_pass;
pub(crate) mod graph;
pub mod quant;
pub mod report;

pub use compress_pass::compress;
pub use expand_pass::expand;
pub use report::{Refusal, Report, TensorReport, Totals};

use conform_ir::{IrError, LayerRef, Model, Tensor};

/// The compressed form to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `compressed-fq`: integer Const → Convert → FakeQuantize.
    Fq,
    /// `compressed-dq`: integer Const → Convert → [Subtract] → Multiply.
    Dq,
}

impl Form {
    /// The CONTRACT.md name.
    pub fn name(self) -> &'static str {
        match self {
            Form::Fq => "compressed-fq",
            Form::Dq => "compressed-dq",
        }
    }
}

impl std::str::FromStr for Form {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fq" | "compressed-fq" => Ok(Form::Fq),
            "dq" | "compressed-dq" => Ok(Form::Dq),
            _ => Err(format!("unknown form `{s}` (expected fq or dq)")),
        }
    }
}

/// Storage width of the integer weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bits {
    /// 4 bits for levels ≤ 16, else 8 (OpenVINO's rule).
    #[default]
    Auto,
    /// Always 8 bits.
    Eight,
    /// Always 4 bits; FakeQuantize with levels > 16 are refused.
    Four,
}

impl std::str::FromStr for Bits {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Bits::Auto),
            "8" => Ok(Bits::Eight),
            "4" => Ok(Bits::Four),
            _ => Err(format!("unknown bit width `{s}` (expected auto, 8 or 4)")),
        }
    }
}

/// Options of [`compress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressOptions {
    /// The form to write.
    pub form: Form,
    /// The storage width.
    pub bits: Bits,
}

/// Bad input or an internal inconsistency; refusals are not errors.
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    /// Reading a constant, or validating the rebuilt model, failed.
    #[error(transparent)]
    Ir(Box<IrError>),
    /// A layer the rewrite must read is malformed.
    #[error("{layer}: {message}")]
    Layer {
        /// The layer.
        layer: LayerRef,
        /// What is wrong.
        message: String,
    },
    /// A bug: the rewrite produced an inconsistent graph.
    #[error("internal error in weight rewriting: {0}")]
    Internal(String),
}

impl From<IrError> for CompressError {
    fn from(e: IrError) -> Self {
        CompressError::Ir(Box::new(e))
    }
}

/// A value that is a Const, or a Const seen through one Convert to f32 (an f16 scale, say):
/// returns (const node, convert node).
pub(crate) fn const_through_convert(model: &Model, node: usize, input: usize) -> Option<(usize, Option<usize>)> {
    let &(src, _) = model.sources_of(node).get(input)?;
    let nd = model.node(src);
    if nd.is_const() {
        return Some((src, None));
    }
    if nd.op_type == "Convert" && nd.attr("destination_type").map(str::trim) == Some("f32") {
        let &(c, _) = model.sources_of(src).first()?;
        if model.node(c).is_const() {
            return Some((c, Some(src)));
        }
    }
    None
}

/// Decodes a Const, mapping errors to [`CompressError`].
pub(crate) fn read_const(model: &Model, node: usize) -> Result<Tensor, CompressError> {
    Ok(model.const_tensor(node)?)
}

/// Bytes a Const occupies as declared.
pub(crate) fn const_size(model: &Model, node: usize) -> u64 {
    model.node(node).constant.map_or(0, |c| c.size)
}
