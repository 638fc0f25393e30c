//! Comparing two f32 outputs element by element: max |Δ|, max ulp distance, and how much of the
//! expected output is degenerate (zero or sitting on its extreme values), which makes a match
//! prove little (CONTRACT.md: MISTRUSTED).

/// The f32 value as a point on a line where adjacent floats are adjacent integers (−0 and +0
/// coincide), so that ulp distances are differences.
fn ordered(x: f32) -> i64 {
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        -((b & 0x7FFF_FFFF) as i64)
    } else {
        b as i64
    }
}

/// The number of f32 values between `a` and `b` (0 when equal, −0 = +0, NaN = NaN;
/// `u64::MAX` when exactly one is NaN).
pub fn ulp_distance(a: f32, b: f32) -> u64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0,
        (false, false) => ordered(a).abs_diff(ordered(b)),
        _ => u64::MAX,
    }
}

/// The differences between an actual and an expected output.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Diff {
    /// Elements compared.
    pub elements: usize,
    /// Elements whose bits differ (NaN matches NaN; −0 matches +0 only bitwise-differently, counted).
    pub differing: usize,
    /// Largest |actual − expected| over finite pairs (infinite when a non-finite value differs).
    pub max_abs: f64,
    /// Largest ulp distance.
    pub max_ulp: u64,
    /// Elements of `expected` that are 0, or equal to its minimum or maximum when that extreme is
    /// shared by two or more elements (a bound that values were clamped to), a fraction in [0, 1]:
    /// outputs clamped to a range bound or zeroed carry little evidence. A lone extreme is just
    /// the largest (smallest) value, not a clamp: counting it would call every output of three
    /// distinct values degenerate.
    pub degenerate_fraction: f64,
}

impl Diff {
    /// True when every element is bitwise equal (NaN payloads aside).
    pub fn bit_exact(&self) -> bool {
        self.differing == 0
    }
}

/// Compares two outputs of the same length; `None` when the lengths differ.
pub fn diff(actual: &[f32], expected: &[f32]) -> Option<Diff> {
    if actual.len() != expected.len() {
        return None;
    }
    let mut d = Diff { elements: actual.len(), ..Diff::default() };
    for (&a, &e) in actual.iter().zip(expected) {
        let same = a.to_bits() == e.to_bits() || (a.is_nan() && e.is_nan());
        if same {
            continue;
        }
        d.differing += 1;
        let abs = if a.is_finite() && e.is_finite() { (a as f64 - e as f64).abs() } else { f64::INFINITY };
        d.max_abs = d.max_abs.max(abs);
        d.max_ulp = d.max_ulp.max(ulp_distance(a, e));
    }
    let finite = expected.iter().copied().filter(|x| x.is_finite());
    let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), x| (l.min(x), h.max(x)));
    if !expected.is_empty() {
        let count = |v: f32| expected.iter().filter(|&&x| x == v).count();
        let (lo_clamped, hi_clamped) = (count(lo) >= 2, count(hi) >= 2);
        let degenerate =
            expected.iter().filter(|&&x| x == 0.0 || (lo_clamped && x == lo) || (hi_clamped && x == hi)).count();
        d.degenerate_fraction = degenerate as f64 / expected.len() as f64;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulp_distance_by_hand() {
        assert_eq!(ulp_distance(1.0, 1.0), 0);
        // 1 + 2^-23 is the next f32 after 1.
        assert_eq!(ulp_distance(1.0, 1.0 + f32::EPSILON), 1);
        assert_eq!(ulp_distance(-0.0, 0.0), 0);
        // The smallest subnormals on either side of zero are two steps apart.
        let tiny = f32::from_bits(1);
        assert_eq!(ulp_distance(tiny, -tiny), 2);
        assert_eq!(ulp_distance(f32::NAN, f32::NAN), 0);
        assert_eq!(ulp_distance(f32::NAN, 1.0), u64::MAX);
        // f32::MAX and +inf are adjacent.
        assert_eq!(ulp_distance(f32::MAX, f32::INFINITY), 1);
    }

    #[test]
    fn diff_reports_max_abs_ulp_and_degenerate_fraction() {
        let e = [0.0, 1.0, 2.0, 0.5];
        let a = [0.0, 1.0 + f32::EPSILON, 2.0, 0.5];
        let d = diff(&a, &e).expect("same length");
        assert_eq!(d.differing, 1);
        assert_eq!(d.max_ulp, 1);
        assert_eq!(d.max_abs, f32::EPSILON as f64);
        // 0.0 is zero; 2.0 is the maximum but alone, so not a clamp: 1 of 4.
        assert_eq!(d.degenerate_fraction, 0.25);
        // Three elements on the shared maximum 3.0 (clamped) and one other value: 3 of 4.
        let clamped = diff(&[3.0, 3.0, 1.0, 3.0], &[3.0, 3.0, 1.0, 3.0]).expect("same length");
        assert_eq!(clamped.degenerate_fraction, 0.75);
        // Three distinct non-zero values: nothing degenerate.
        assert_eq!(diff(&[-1.0, 0.5, 2.0], &[-1.0, 0.5, 2.0]).map(|d| d.degenerate_fraction), Some(0.0));
        assert!(diff(&a[..2], &e).is_none());
        assert!(diff(&[f32::NAN], &[f32::NAN]).is_some_and(|d| d.bit_exact()));
        assert!(diff(&[f32::INFINITY], &[1.0]).is_some_and(|d| d.max_abs.is_infinite()));
    }
}
