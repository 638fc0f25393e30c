//! Seeded kernel bugs (`mutant:NAME`, cargo feature `mutants` only), for testing the harness.
//!
//! Each mutant is a realistic wrong variant of the scalar kernels: selecting `mutant:NAME` as the
//! ISA compiles a plan on the scalar kernels with that one bug switched on. The switch is
//! process-wide (an atomic set by [`crate::isa::select`] at compile time and again by
//! [`crate::Plan::run`]), because the kernels run on the plan's own rayon workers; a mutant build
//! is a test build and runs one plan at a time. Selecting any other variant switches it off.
//!
//! Never compiled into a normal build (`#[cfg(feature = "mutants")]` on the module and every hook).

use std::sync::atomic::{AtomicU8, Ordering};

/// One seeded bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutant {
    /// `vpmaddubsw`-style: each pair of u8×s8 products is summed into an i16 with saturation.
    I16Saturation,
    /// Activation quantization rounds half away from zero instead of to even.
    RoundHalfAway,
    /// Convolution padding filled with 0 instead of the activation zero point (and not corrected).
    PadZero,
    /// The first channel's weight scale used for every output channel.
    PerTensorScale,
    /// The last reduction groups of 4 are dropped when their count is not a multiple of 4.
    LostTail,
    /// Packing reads channel blocks after the first with a stride of `lanes − 1` channels.
    PackStride,
    /// The epilogue contracts `t·M + b` into one fused multiply-add.
    FmaEpilogue,
    /// The fractional zero-point compensation `− frac·W` is dropped.
    DropFracZp,
}

/// Every mutant with its name, in listing order.
pub const ALL: [(Mutant, &str); 8] = [
    (Mutant::I16Saturation, "i16-saturation"),
    (Mutant::RoundHalfAway, "round-half-away"),
    (Mutant::PadZero, "pad-zero"),
    (Mutant::PerTensorScale, "per-tensor-scale"),
    (Mutant::LostTail, "lost-tail"),
    (Mutant::PackStride, "pack-stride"),
    (Mutant::FmaEpilogue, "fma-epilogue"),
    (Mutant::DropFracZp, "drop-frac-zp"),
];

static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// Names of the seeded-bug variants (as `mutant:NAME` takes them).
pub fn names() -> Vec<String> {
    ALL.iter().map(|(_, n)| n.to_string()).collect()
}

impl Mutant {
    /// The mutant's name.
    pub fn name(self) -> &'static str {
        ALL.iter().find(|(m, _)| *m == self).map_or("?", |(_, n)| n)
    }

    /// Parses a name (without the `mutant:` prefix).
    pub fn from_name(s: &str) -> Option<Mutant> {
        ALL.iter().find(|(_, n)| *n == s.trim()).map(|(m, _)| *m)
    }

    fn code(self) -> u8 {
        ALL.iter().position(|(m, _)| *m == self).map_or(0, |p| p as u8 + 1)
    }
}

/// Switches a mutant on (or all off with `None`).
pub fn set(m: Option<Mutant>) {
    ACTIVE.store(m.map_or(0, Mutant::code), Ordering::SeqCst);
}

/// The active mutant.
pub fn active() -> Option<Mutant> {
    let c = ACTIVE.load(Ordering::Relaxed) as usize;
    c.checked_sub(1).and_then(|i| ALL.get(i)).map(|(m, _)| *m)
}

/// True when `m` is active.
#[inline]
pub fn is(m: Mutant) -> bool {
    active() == Some(m)
}

/// i16 saturation of an i32 (as `vpmaddubsw` writes its pair sums).
#[inline]
pub fn sat16(v: i32) -> i32 {
    v.clamp(i16::MIN as i32, i16::MAX as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(names().len(), 8);
        for (m, n) in ALL {
            assert_eq!(Mutant::from_name(n), Some(m));
            assert_eq!(m.name(), n);
        }
        // 255·127 + 255·127 = 64770 saturates to 32767 (the vpmaddubsw hazard).
        assert_eq!(sat16(255 * 127 * 2), 32767);
    }
}
