//! Shapes: partial shapes as the IR writes them (static, `-1`/`?`, ranges `1..10`) and checked
//! element counts.

use std::fmt;

/// One dimension of a port's shape as written in the IR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A known size.
    Static(u64),
    /// `-1` or `?`: any size.
    Dynamic,
    /// `lo..hi` (hi `None` when written open, `lo..`).
    Range(u64, Option<u64>),
}

impl Dim {
    /// The static size, if known.
    pub fn as_static(self) -> Option<u64> {
        match self {
            Dim::Static(v) => Some(v),
            _ => None,
        }
    }

    /// Parses one `<dim>` text: a number, `-1`, `?`, or `lo..hi`.
    pub fn parse(s: &str) -> Option<Dim> {
        let s = s.trim();
        if s == "-1" || s == "?" {
            return Some(Dim::Dynamic);
        }
        if let Some((lo, hi)) = s.split_once("..") {
            let lo = if lo.is_empty() { 0 } else { lo.trim().parse().ok()? };
            let hi = if hi.trim().is_empty() || hi.trim() == "-1" { None } else { Some(hi.trim().parse().ok()?) };
            if let Some(h) = hi {
                if h < lo {
                    return None;
                }
            }
            return Some(Dim::Range(lo, hi));
        }
        s.parse().ok().map(Dim::Static)
    }

    /// True when `v` is an admissible size for this dimension.
    pub fn admits(self, v: u64) -> bool {
        match self {
            Dim::Static(s) => s == v,
            Dim::Dynamic => true,
            Dim::Range(lo, hi) => v >= lo && hi.is_none_or(|h| v <= h),
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Static(v) => write!(f, "{v}"),
            Dim::Dynamic => f.write_str("-1"),
            Dim::Range(lo, Some(hi)) => write!(f, "{lo}..{hi}"),
            Dim::Range(lo, None) => write!(f, "{lo}.."),
        }
    }
}

/// A shape whose dimensions may be dynamic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PartialShape(pub Vec<Dim>);

impl PartialShape {
    /// A fully static shape.
    pub fn from_static(dims: &[usize]) -> Self {
        PartialShape(dims.iter().map(|&d| Dim::Static(d as u64)).collect())
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The dimensions as `usize` when all are static and their product fits `usize`.
    pub fn to_static(&self) -> Option<Vec<usize>> {
        let dims: Option<Vec<usize>> =
            self.0.iter().map(|d| d.as_static().and_then(|v| usize::try_from(v).ok())).collect();
        let dims = dims?;
        element_count(&dims)?;
        Some(dims)
    }

    /// True when no dimension is dynamic.
    pub fn is_static(&self) -> bool {
        self.0.iter().all(|d| matches!(d, Dim::Static(_)))
    }

    /// True when a concrete shape is admitted by this partial shape.
    pub fn admits(&self, dims: &[usize]) -> bool {
        self.0.len() == dims.len() && self.0.iter().zip(dims).all(|(d, &v)| d.admits(v as u64))
    }
}

impl fmt::Display for PartialShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// The number of elements of a shape, `None` when the product overflows `usize`.
pub fn element_count(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Formats a concrete shape as `[a,b,c]` for messages.
pub fn fmt_shape(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ir_dim_spellings() {
        assert_eq!(Dim::parse("8"), Some(Dim::Static(8)));
        assert_eq!(Dim::parse("-1"), Some(Dim::Dynamic));
        assert_eq!(Dim::parse("?"), Some(Dim::Dynamic));
        assert_eq!(Dim::parse("1..10"), Some(Dim::Range(1, Some(10))));
        assert_eq!(Dim::parse("3.."), Some(Dim::Range(3, None)));
        assert_eq!(Dim::parse("10..1"), None);
        assert_eq!(Dim::parse("-5"), None);
        assert_eq!(Dim::parse("x"), None);
    }

    #[test]
    fn element_count_detects_overflow() {
        assert_eq!(element_count(&[2, 3, 4]), Some(24));
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[usize::MAX, 2]), None);
    }
}
