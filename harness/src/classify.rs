//! The mismatch classifier (SPEC §0.4, §6.3 item 2): labels every element on which an engine's
//! output differs from the expected one, and the case, with one of
//!
//! - `rounding-tie-flip`: a FakeQuantize produced the element, the two sides sit one level apart,
//!   and the value it quantized lies on or next to a rounding midpoint — within the SPEC §0.4 flip
//!   window `|t − (⌊t⌋ + ½)| ≤ B_x·(L−1)/|ih−il| + ε_t` (`reference::bound::flip_allowed`);
//! - `zero-point-rounding`: the element equals what the reference computes when the fractional
//!   activation zero point is rounded first (INT8.md §2, the `round` policy that emulates OpenVINO's
//!   CPU plugin for convolutions, SPEC §3.2 "Non-integer zero points");
//! - `saturation`: one side is clipped and the other is not — an element at a FakeQuantize output
//!   bound (level 0 or L−1) against one that is not, or a value at an integer type's limit (u8, s8,
//!   s16, i32), the fingerprint of a saturating accumulation (SPEC §4.1);
//! - `implementation-defined-input`: NaN or ±inf on either side or in the case's inputs, or an
//!   inverted, degenerate or subnormal-width FakeQuantize range (SPEC §1.2, §1.4: the CPU plugin's
//!   answer there is implementation-defined, so it is reported apart and not as a confirmed bug);
//! - `bug`: anything else.
//!
//! Elements within their tolerance are not differences. The case's label is the most serious
//! element label, in the order `bug` > `saturation` > `zero-point-rounding` >
//! `implementation-defined-input` > `rounding-tie-flip`: one unexplained element makes the case a
//! bug whatever else differs, and a case whose only differences are permitted flips is a flip case
//! (accepted and counted, SPEC §0.4).

use reference::bound::flip_allowed;
use std::collections::BTreeMap;

/// A classification label (the strings are CONTRACT.md / issue 6 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    /// A permitted one-level FakeQuantize flip next to a rounding midpoint.
    RoundingTieFlip,
    /// NaN/inf, inverted or degenerate ranges: implementation-defined, not a confirmed bug.
    ImplementationDefinedInput,
    /// Explained by rounding a fractional activation zero point.
    ZeroPointRounding,
    /// One side clipped or saturated, the other not.
    Saturation,
    /// Unexplained.
    Bug,
}

impl Label {
    /// The label's string as reports carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::RoundingTieFlip => "rounding-tie-flip",
            Label::ImplementationDefinedInput => "implementation-defined-input",
            Label::ZeroPointRounding => "zero-point-rounding",
            Label::Saturation => "saturation",
            Label::Bug => "bug",
        }
    }

    /// Every label, least serious first.
    pub const ALL: [Label; 5] = [
        Label::RoundingTieFlip,
        Label::ImplementationDefinedInput,
        Label::ZeroPointRounding,
        Label::Saturation,
        Label::Bug,
    ];
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The FakeQuantize that produced a compared element, as seen on the expected side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FqElement {
    /// The value it quantized on the expected (reference FP32) path.
    pub x: f32,
    /// The bound of `x` (SPEC §3.2 `B_y` of the value being quantized; 0 when `x` is exact).
    pub bound_x: f64,
    /// Input low.
    pub il: f32,
    /// Input high.
    pub ih: f32,
    /// Output low.
    pub ol: f32,
    /// Output high.
    pub oh: f32,
    /// Levels.
    pub levels: u64,
}

impl FqElement {
    /// True when the range is inverted, degenerate, has a subnormal or non-finite width, or fewer
    /// than two levels: SPEC §1.2/§1.4 make the plugin's answer implementation-defined there.
    pub fn implementation_defined(&self) -> bool {
        let w = self.ih as f64 - self.il as f64;
        let ow = self.oh - self.ol;
        !(self.il.is_finite() && self.ih.is_finite() && self.ol.is_finite() && self.oh.is_finite())
            || w <= 0.0
            || (self.ih - self.il).abs() < f32::MIN_POSITIVE
            || ow == 0.0
            || self.levels < 2
    }

    /// The output level index of an output value `y` (`round((y − ol)/step)`), `None` for NaN.
    pub fn level_of(&self, y: f32) -> Option<i64> {
        let step = (self.oh as f64 - self.ol as f64) / (self.levels - 1) as f64;
        let r = ((y as f64 - self.ol as f64) / step).round();
        r.is_finite().then_some(r as i64)
    }
}

/// Everything known about one compared element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Element {
    /// The engine's value.
    pub actual: f32,
    /// The expected value.
    pub expected: f32,
    /// |Δ| accepted without explanation (0 = bit-exact: any bit difference is a difference).
    pub tolerance: f64,
    /// The expected value when the fractional activation zero point is rounded (reference INT8
    /// `round` policy), when the harness computed it.
    pub expected_zp_round: Option<f32>,
    /// The FakeQuantize that produced the element, when one did.
    pub fq: Option<FqElement>,
}

/// Case-level knowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaseContext {
    /// An input holds NaN/inf, or a FakeQuantize range of the model is inverted or degenerate.
    pub special_inputs: bool,
}

/// Integer type limits a saturating accumulation or output conversion lands on (u8, s8, s16, i32).
const LIMITS: [f64; 7] = [255.0, 127.0, -128.0, 32767.0, -32768.0, 2147483647.0, -2147483648.0];

fn within(a: f32, b: f32, tol: f64) -> bool {
    if tol == 0.0 {
        a.to_bits() == b.to_bits()
    } else {
        (a as f64 - b as f64).abs() <= tol
    }
}

/// Labels one element; `None` when it is not a difference (within its tolerance).
pub fn label_element(e: &Element, ctx: &CaseContext) -> Option<Label> {
    if within(e.actual, e.expected, e.tolerance) || (e.actual.is_nan() && e.expected.is_nan()) {
        return None;
    }
    if ctx.special_inputs
        || !e.actual.is_finite()
        || !e.expected.is_finite()
        || e.fq.is_some_and(|f| f.implementation_defined() || !f.x.is_finite())
    {
        return Some(Label::ImplementationDefinedInput);
    }
    if let Some(z) = e.expected_zp_round {
        if within(e.actual, z, e.tolerance) {
            return Some(Label::ZeroPointRounding);
        }
    }
    if let Some(f) = e.fq {
        if let (Some(ra), Some(re)) = (f.level_of(e.actual), f.level_of(e.expected)) {
            let top = f.levels as i64 - 1;
            if (ra - re).abs() == 1 && flip_allowed(f.x, f.bound_x, f.il, f.ih, f.levels) {
                return Some(Label::RoundingTieFlip);
            }
            let clipped = |r: i64| r <= 0 || r >= top;
            if clipped(ra) != clipped(re) {
                return Some(Label::Saturation);
            }
        }
    }
    let at_limit = |v: f32| LIMITS.contains(&(v as f64));
    if at_limit(e.actual) != at_limit(e.expected) {
        return Some(Label::Saturation);
    }
    Some(Label::Bug)
}

/// What the classifier found over a set of elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Classification {
    /// Differing elements per label.
    pub counts: BTreeMap<Label, u64>,
    /// The first few differing elements per label, as `(flat index, actual, expected)`.
    pub examples: BTreeMap<Label, Vec<(usize, f32, f32)>>,
}

impl Classification {
    /// Records one element at flat index `i`.
    pub fn add(&mut self, i: usize, e: &Element, ctx: &CaseContext) -> Option<Label> {
        let l = label_element(e, ctx)?;
        *self.counts.entry(l).or_default() += 1;
        let ex = self.examples.entry(l).or_default();
        if ex.len() < 3 {
            ex.push((i, e.actual, e.expected));
        }
        Some(l)
    }

    /// Records an element whose label the caller decided (for explanations this module cannot see
    /// on one element, such as a flip upstream of it).
    pub fn add_label(&mut self, i: usize, l: Label, actual: f32, expected: f32) {
        *self.counts.entry(l).or_default() += 1;
        let ex = self.examples.entry(l).or_default();
        if ex.len() < 3 {
            ex.push((i, actual, expected));
        }
    }

    /// The case's label: the most serious element label; `None` without differences.
    pub fn case_label(&self) -> Option<Label> {
        self.counts.keys().copied().max()
    }

    /// Differing elements in total.
    pub fn differing(&self) -> u64 {
        self.counts.values().sum()
    }

    /// One line: counts per label and examples of the most serious one.
    pub fn summary(&self) -> String {
        let counts: Vec<String> = self.counts.iter().rev().map(|(l, n)| format!("{n} {l}")).collect();
        let mut s = counts.join(", ");
        if let Some(l) = self.case_label() {
            if let Some(ex) = self.examples.get(&l) {
                let ex: Vec<String> = ex.iter().map(|(i, a, b)| format!("[{i}] {a:e} vs {b:e}")).collect();
                s.push_str(&format!(" (e.g. {})", ex.join(", ")));
            }
        }
        s
    }
}

/// Labels a whole case from what is known without the compared tensors (a coarse fallback for
/// callers that have only the generator's description of a case): implementation-defined input
/// first, then a saturating regime, a fractional activation zero point on a bounded (not
/// bit-exact) oracle, a ties regime on a bounded oracle, else `bug`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaseHints {
    /// NaN/inf inputs, inverted or degenerate ranges.
    pub special_inputs: bool,
    /// The inputs were built to saturate u8×s8 pairs.
    pub saturating: bool,
    /// A fractional activation zero point takes part.
    pub fractional_zero_point: bool,
    /// The inputs sit on rounding midpoints.
    pub ties: bool,
}

/// The coarse label of [`CaseHints`] (see its docs). On a bit-exact oracle neither ties nor a
/// fractional zero point explain a difference (INT8.md defines both exactly), so they are not
/// used there.
pub fn label_from_hints(h: &CaseHints, bit_exact: bool) -> Label {
    if h.special_inputs {
        Label::ImplementationDefinedInput
    } else if h.saturating {
        Label::Saturation
    } else if h.fractional_zero_point && !bit_exact {
        Label::ZeroPointRounding
    } else if h.ties && !bit_exact {
        Label::RoundingTieFlip
    } else {
        Label::Bug
    }
}

/// True when a FakeQuantize range makes a case implementation-defined (see
/// [`FqElement::implementation_defined`]); for ranges given as tensors, any element.
pub fn ranges_implementation_defined(il: &[f32], ih: &[f32], ol: &[f32], oh: &[f32], levels: u64) -> bool {
    let n = il.len().max(ih.len()).max(ol.len()).max(oh.len());
    let at = |v: &[f32], i: usize| v.get(if v.len() == 1 { 0 } else { i }).copied().unwrap_or(f32::NAN);
    (0..n).any(|i| {
        FqElement { x: 0.0, bound_x: 0.0, il: at(il, i), ih: at(ih, i), ol: at(ol, i), oh: at(oh, i), levels }
            .implementation_defined()
    })
}

/// Case-level context of a model and its inputs: NaN/inf in an input or in a constant FakeQuantize
/// range, or an implementation-defined range.
pub fn context_of(model: &conform_ir::Model, inputs: &[conform_ir::Tensor]) -> CaseContext {
    let special_in = inputs.iter().any(|t| t.to_f32_vec().iter().any(|v| !v.is_finite()));
    let special_fq = model.nodes().iter().enumerate().any(|(i, n)| {
        if n.op_type != "FakeQuantize" {
            return false;
        }
        let Ok(levels) = n.attr_u64("levels") else { return true };
        let get = |k: usize| -> Option<Vec<f32>> {
            let (src, _) = *model.sources_of(i).get(k)?;
            model.const_tensor(src).ok().map(|t| t.to_f32_vec())
        };
        match (get(1), get(2), get(3), get(4)) {
            (Some(il), Some(ih), Some(ol), Some(oh)) => ranges_implementation_defined(&il, &ih, &ol, &oh, levels),
            _ => false, // ranges computed at run time: nothing known statically
        }
    });
    CaseContext { special_inputs: special_in || special_fq }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: CaseContext = CaseContext { special_inputs: false };

    fn el(actual: f32, expected: f32) -> Element {
        Element { actual, expected, tolerance: 0.0, expected_zp_round: None, fq: None }
    }

    /// u8 activation FakeQuantize il=0, ih=255, ol=0, oh=255, L=256: t = x, step 1.
    fn fq(x: f32, bound_x: f64) -> FqElement {
        FqElement { x, bound_x, il: 0.0, ih: 255.0, ol: 0.0, oh: 255.0, levels: 256 }
    }

    #[test]
    fn equal_and_within_tolerance_are_not_differences() {
        assert_eq!(label_element(&el(1.0, 1.0), &PLAIN), None);
        // 1.0 and its successor differ by 2^-23 = 1.19e-7 ≤ 2e-7.
        let next = f32::from_bits(1.0f32.to_bits() + 1);
        assert_eq!(label_element(&Element { tolerance: 2e-7, ..el(next, 1.0) }, &PLAIN), None);
        // Bit-exact (tolerance 0): one ulp is a difference.
        assert_eq!(label_element(&el(next, 1.0), &PLAIN), Some(Label::Bug));
        assert_eq!(label_element(&el(f32::NAN, f32::NAN), &PLAIN), None);
    }

    #[test]
    fn tie_flip_on_a_midpoint() {
        // x = 2.5 sits exactly on the midpoint between levels 2 and 3 (t = x for this range):
        // ties-to-even gives 2; an engine whose pre-round value is a few ulp above gives 3. One
        // level apart, |t − 2.5| = 0 ≤ window: a permitted flip.
        let e = Element { fq: Some(fq(2.5, 0.0)), ..el(3.0, 2.0) };
        assert_eq!(label_element(&e, &PLAIN), Some(Label::RoundingTieFlip));
        // x = 2.0 is half a level from the midpoint: with B_x = 0.01 the window is
        // 0.01·255/255 + ε_t ≈ 0.01 < 0.5, so level 3 against 2 is not a flip but a bug.
        let e = Element { fq: Some(fq(2.0, 0.01)), ..el(3.0, 2.0) };
        assert_eq!(label_element(&e, &PLAIN), Some(Label::Bug));
        // Two levels apart is never a flip, even on a midpoint.
        let e = Element { fq: Some(fq(2.5, 0.0)), ..el(4.0, 2.0) };
        assert_eq!(label_element(&e, &PLAIN), Some(Label::Bug));
    }

    #[test]
    fn zero_point_rounding_matches_the_round_policy() {
        // Activation FQ [-1, 1.6] with L=256: S = 2.6/255, z = −il/S = 255/2.6 = 98.0769…,
        // fractional. The CPU plugin uses round(z) = 98, so a 1×1 MatMul with weight w=1 on the level q=98
        // gives (98 − 98)·S = 0 where the exact policy gives (98 − 98.0769)·S = −0.0769·2.6/255 =
        // −7.843e-4. Expected (exact) −7.843e-4, round-policy 0, engine 0: zero-point rounding.
        let s = 2.6f32 / 255.0;
        let exact = (98.0f32 - 98.076_92) * s;
        let e = Element { expected_zp_round: Some(0.0), ..el(0.0, exact) };
        assert_eq!(label_element(&e, &PLAIN), Some(Label::ZeroPointRounding));
        // The same engine value with no round-policy expectation known: a bug.
        assert_eq!(label_element(&el(0.0, exact), &PLAIN), Some(Label::Bug));
    }

    #[test]
    fn saturation_when_one_side_clips() {
        // Output FQ [0, 255] L=256: the expected element is interior (x = 100.2 → level 100);
        // the engine is at the top level 255 (clipped, as a wrapped/saturated accumulator gives):
        // one side clipped, the other not → saturation.
        let e = Element { fq: Some(fq(100.2, 0.01)), ..el(255.0, 100.0) };
        assert_eq!(label_element(&e, &PLAIN), Some(Label::Saturation));
        // vpmaddubsw: 255·127 + 255·127 = 64770 saturates to 32767 (SPEC §4.1). Expected 64770,
        // engine 32767: at the s16 limit on one side only → saturation.
        assert_eq!(label_element(&el(32767.0, 64770.0), &PLAIN), Some(Label::Saturation));
        // 64770 vs 64769 — neither at a limit, no FQ: a bug.
        assert_eq!(label_element(&el(64769.0, 64770.0), &PLAIN), Some(Label::Bug));
    }

    #[test]
    fn implementation_defined_inputs() {
        // NaN into FakeQuantize: the reference propagates NaN, the CPU node gives oh (SPEC §1.4).
        assert_eq!(label_element(&el(255.0, f32::NAN), &PLAIN), Some(Label::ImplementationDefinedInput));
        // +inf → oh+1ulp on the CPU vs oh: differs, and the case has an inf input.
        let ctx = CaseContext { special_inputs: true };
        let oh1 = f32::from_bits(255.0f32.to_bits() + 1);
        assert_eq!(label_element(&el(oh1, 255.0), &ctx), Some(Label::ImplementationDefinedInput));
        // Inverted range il=1 > ih=-1 (SPEC §1.2 example): the CPU gives ol, the reference 8.
        let inv = FqElement { x: -0.5, bound_x: 0.0, il: 1.0, ih: -1.0, ol: 0.0, oh: 10.0, levels: 11 };
        let e = Element { fq: Some(inv), ..el(0.0, 8.0) };
        assert_eq!(label_element(&e, &PLAIN), Some(Label::ImplementationDefinedInput));
        // Degenerate il == ih and a subnormal width.
        assert!(ranges_implementation_defined(&[0.5], &[0.5], &[0.0], &[1.0], 256));
        assert!(ranges_implementation_defined(&[0.0], &[1e-39], &[0.0], &[1.0], 256));
        assert!(!ranges_implementation_defined(&[0.0, -1.0], &[1.0], &[0.0], &[1.0], 256));
    }

    #[test]
    fn the_case_takes_the_most_serious_label() {
        let mut c = Classification::default();
        let flip = Element { fq: Some(fq(2.5, 0.0)), ..el(3.0, 2.0) };
        c.add(0, &flip, &PLAIN);
        c.add(1, &flip, &PLAIN);
        assert_eq!(c.case_label(), Some(Label::RoundingTieFlip));
        // One unexplained element: expected 7 (level 7, x = 7.1 is 0.4 from any midpoint), the
        // engine 9: two levels apart and neither clipped → bug, and the case is a bug.
        let wrong = Element { fq: Some(fq(7.1, 0.001)), ..el(9.0, 7.0) };
        assert_eq!(c.add(2, &wrong, &PLAIN), Some(Label::Bug));
        assert_eq!(c.case_label(), Some(Label::Bug));
        assert_eq!(c.differing(), 3);
        assert!(c.summary().starts_with("1 bug, 2 rounding-tie-flip"), "{}", c.summary());
    }

    #[test]
    fn hints_without_tensors() {
        let h = CaseHints { fractional_zero_point: true, ..Default::default() };
        assert_eq!(label_from_hints(&h, false), Label::ZeroPointRounding);
        assert_eq!(label_from_hints(&h, true), Label::Bug);
        let h = CaseHints { special_inputs: true, saturating: true, ..Default::default() };
        assert_eq!(label_from_hints(&h, true), Label::ImplementationDefinedInput);
    }
}
