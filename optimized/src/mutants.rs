//! Seeded kernel bugs (`mutant:NAME`, cargo feature `mutants` only), for testing the harness.
//!
//! Each mutant is a realistic wrong variant of one kernel path and lives in one ISA variant, its
//! *home* ([`Mutant::home`]): the first eight in the scalar kernels (and the generic code every ISA
//! shares), the later ones in the SIMD kernels and the paths added with them (row convolution,
//! VNNI depthwise, act × act B packing, the single-pass epilogue, multi-threaded partitioning).
//! Selecting `mutant:NAME` as the ISA compiles a plan on the home ISA's kernels with that one bug
//! switched on; `mutant:NAME@ISA` picks another variant (a bug in shared code bites on every ISA,
//! one in a SIMD body only on its own). A home the CPU lacks is an error, like any unusable
//! variant. The switch is
//! process-wide (an atomic set by [`crate::isa::select`] at compile time and again by
//! [`crate::Plan::run`]), because the kernels run on the plan's own rayon workers; a mutant build
//! is a test build and runs one plan at a time. Selecting any other variant switches it off.
//!
//! Never compiled into a normal build (`#[cfg(feature = "mutants")]` on the module and every hook).

use crate::isa::Isa;
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
    /// avx512 row convolution: the masked tail store of a tile keeps one lane too few.
    RowTailMask,
    /// avx512 VNNI depthwise row: vectors after the first load the expanded row at byte offset
    /// `x0` instead of `4·x0` (positions taken for bytes), so outputs 16.. of a row are wrong.
    DwVectorOffset,
    /// avx512 act × act B packing with `transpose_b`: the K tail (K % 4 ≠ 0) is written one
    /// group too far (`⌈K/4⌉` for `⌊K/4⌋`) and so lost, while the column sums still count it.
    PackBTail,
    /// Single-pass epilogue (integer zero points): the last, partial vector of 16 channels of a
    /// row (channels past `16·⌊nc/16⌋`, when there is a full vector before it) adds the bias of
    /// the channel 16 before.
    EpilogueTailBias,
    /// VNNI depthwise expansion: for kernels wider than 4, the second group of 4 horizontal taps
    /// reads the first group's columns (the group offset `4·g·dw` is dropped).
    DwTapGroup,
    /// avx512 dense tile, 4 channel blocks (64 channels): the fourth block accumulates with the
    /// third block's weights.
    DenseNv4,
    /// Multi-threaded partitioning of a dense convolution with border correction: a task after
    /// the first corrects the padding of its positions as if it started at position 0 (task-
    /// relative instead of absolute positions). One thread runs one task, so only a run on 2+
    /// threads differs (the determinism oracle).
    SplitBorder,
}

/// Every mutant with its name, in listing order.
pub const ALL: [(Mutant, &str); 15] = [
    (Mutant::I16Saturation, "i16-saturation"),
    (Mutant::RoundHalfAway, "round-half-away"),
    (Mutant::PadZero, "pad-zero"),
    (Mutant::PerTensorScale, "per-tensor-scale"),
    (Mutant::LostTail, "lost-tail"),
    (Mutant::PackStride, "pack-stride"),
    (Mutant::FmaEpilogue, "fma-epilogue"),
    (Mutant::DropFracZp, "drop-frac-zp"),
    (Mutant::RowTailMask, "row-tail-mask"),
    (Mutant::DwVectorOffset, "dw-vector-offset"),
    (Mutant::PackBTail, "pack-b-tail"),
    (Mutant::EpilogueTailBias, "epilogue-tail-bias"),
    (Mutant::DwTapGroup, "dw-tap-group"),
    (Mutant::DenseNv4, "dense-nv4"),
    (Mutant::SplitBorder, "split-border"),
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

    /// The ISA variant whose kernels hold the bug (what `mutant:NAME` compiles for).
    pub fn home(self) -> Isa {
        match self {
            Mutant::I16Saturation
            | Mutant::RoundHalfAway
            | Mutant::PadZero
            | Mutant::PerTensorScale
            | Mutant::LostTail
            | Mutant::PackStride
            | Mutant::FmaEpilogue
            | Mutant::DropFracZp => Isa::Scalar,
            Mutant::RowTailMask
            | Mutant::DwVectorOffset
            | Mutant::PackBTail
            | Mutant::EpilogueTailBias
            | Mutant::DwTapGroup
            | Mutant::DenseNv4
            | Mutant::SplitBorder => Isa::Avx512Vnni,
        }
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
        assert_eq!(names().len(), ALL.len());
        for (m, n) in ALL {
            assert_eq!(Mutant::from_name(n), Some(m));
            assert_eq!(m.name(), n);
        }
        // 255·127 + 255·127 = 64770 saturates to 32767 (the vpmaddubsw hazard).
        assert_eq!(sat16(255 * 127 * 2), 32767);
    }
}
