//! ISA variants: one table entry per variant, runtime detection, selection by name and the
//! `CONFORM_MAX_ISA` cap.
//!
//! Variants, best first: `avx512vnni` (needs avx512f + avx512bw + avx512vnni), `avxvnni` (avx2 +
//! avxvnni), `avx2` (avx2 only: the kernels widen u8/i8 to i16 and use `vpmaddwd`, never the
//! saturating `vpmaddubsw`, and use no FMA because the epilogue forbids contraction), `scalar`
//! (portable Rust). A variant is *detected* when the CPU has its features and it is not above the
//! cap `CONFORM_MAX_ISA` (the cap masks detection like `ONEDNN_MAX_CPU_ISA`, so a capped run
//! behaves as on a smaller CPU; asking by name for a variant above the cap is an error).

use crate::error::OptError;

/// An ISA variant of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Portable Rust, no SIMD intrinsics.
    Scalar,
    /// AVX2: u8/i8 widened to i16, `vpmaddwd` (exact).
    Avx2,
    /// AVX-VNNI: `vpdpbusd ymm` (exact, non-saturating).
    AvxVnni,
    /// AVX-512 VNNI: `vpdpbusd zmm` (exact, non-saturating).
    Avx512Vnni,
}

/// One row of the variant table.
#[derive(Debug, Clone, Copy)]
pub struct IsaEntry {
    /// The variant.
    pub isa: Isa,
    /// Its name (CONTRACT.md).
    pub name: &'static str,
    /// CPU features it needs (as `is_x86_feature_detected!` spells them).
    pub features: &'static [&'static str],
    /// i32 lanes of one accumulator register (also the packing's channel block).
    pub lanes: usize,
}

/// The variant table, best first.
pub const TABLE: [IsaEntry; 4] = [
    IsaEntry { isa: Isa::Avx512Vnni, name: "avx512vnni", features: &["avx512f", "avx512bw", "avx512vnni"], lanes: 16 },
    IsaEntry { isa: Isa::AvxVnni, name: "avxvnni", features: &["avx2", "avxvnni"], lanes: 8 },
    IsaEntry { isa: Isa::Avx2, name: "avx2", features: &["avx2"], lanes: 8 },
    IsaEntry { isa: Isa::Scalar, name: "scalar", features: &[], lanes: 16 },
];

impl Isa {
    /// Every variant, best first.
    pub const ALL: [Isa; 4] = [Isa::Avx512Vnni, Isa::AvxVnni, Isa::Avx2, Isa::Scalar];

    /// The table entry.
    pub fn entry(self) -> &'static IsaEntry {
        match self {
            Isa::Avx512Vnni => &TABLE[0],
            Isa::AvxVnni => &TABLE[1],
            Isa::Avx2 => &TABLE[2],
            Isa::Scalar => &TABLE[3],
        }
    }

    /// The name (`avx512vnni`, `avxvnni`, `avx2`, `scalar`).
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|i| i.name() == s.trim())
    }

    /// True when this build contains the variant's kernels.
    pub fn compiled(self) -> bool {
        match self {
            Isa::Scalar => true,
            _ => cfg!(target_arch = "x86_64"),
        }
    }

    /// True when the CPU has every feature the variant needs (ignores the cap).
    pub fn cpu_has(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Isa::Scalar => true,
                Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
                Isa::AvxVnni => {
                    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("avxvnni")
                }
                Isa::Avx512Vnni => {
                    std::arch::is_x86_feature_detected!("avx512f")
                        && std::arch::is_x86_feature_detected!("avx512bw")
                        && std::arch::is_x86_feature_detected!("avx512vnni")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Isa::Scalar
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The cap from `CONFORM_MAX_ISA` (unset or empty: no cap). An unknown name is an error.
pub fn cap() -> Result<Option<Isa>, OptError> {
    match std::env::var("CONFORM_MAX_ISA") {
        Ok(v) if !v.trim().is_empty() => Isa::from_name(&v).map(Some).ok_or_else(|| OptError::Isa {
            name: v.clone(),
            reason: "CONFORM_MAX_ISA names no variant (avx512vnni, avxvnni, avx2, scalar)".into(),
        }),
        _ => Ok(None),
    }
}

/// True when the variant is compiled, the CPU has it and it is not above the cap.
pub fn usable(isa: Isa) -> Result<bool, OptError> {
    Ok(isa.compiled() && isa.cpu_has() && cap()?.is_none_or(|c| isa <= c))
}

/// The variants usable here, best first.
pub fn detected() -> Result<Vec<Isa>, OptError> {
    let mut v = Vec::new();
    for i in Isa::ALL {
        if usable(i)? {
            v.push(i);
        }
    }
    Ok(v)
}

/// The default variant: the best detected one.
pub fn default_isa() -> Result<Isa, OptError> {
    Ok(detected()?.first().copied().unwrap_or(Isa::Scalar))
}

/// Selects a variant by name (`None`: the default). Errors when the name is unknown or the
/// variant is not usable here; never substitutes another.
pub fn select(name: Option<&str>) -> Result<Isa, OptError> {
    #[cfg(feature = "mutants")]
    {
        // Seeded bugs run on their home ISA's kernels (`mutant:NAME`) or on a named one
        // (`mutant:NAME@ISA`) with one bug switched on (see `crate::mutants`).
        if let Some(m) = name.and_then(|n| n.trim().strip_prefix("mutant:")) {
            let (m, on) = m.split_once('@').map_or((m, None), |(a, b)| (a, Some(b)));
            let mu = crate::mutants::Mutant::from_name(m).ok_or_else(|| OptError::Isa {
                name: format!("mutant:{m}"),
                reason: format!("unknown mutant (known: {})", crate::mutants::names().join(", ")),
            })?;
            let isa = select_variant(on.unwrap_or(mu.home().name())).map_err(|e| OptError::Isa {
                name: format!("mutant:{m}"),
                reason: format!("its kernels cannot run here: {e}"),
            })?;
            crate::mutants::set(Some(mu));
            return Ok(isa);
        }
        crate::mutants::set(None);
    }
    let Some(name) = name else { return default_isa() };
    select_variant(name)
}

/// Selects a plain variant by name (no mutant syntax).
fn select_variant(name: &str) -> Result<Isa, OptError> {
    let isa = Isa::from_name(name).ok_or_else(|| OptError::Isa {
        name: name.to_string(),
        reason: "unknown variant (avx512vnni, avxvnni, avx2, scalar)".into(),
    })?;
    if !isa.compiled() {
        return Err(OptError::Isa { name: name.into(), reason: "not compiled into this build".into() });
    }
    if !isa.cpu_has() {
        return Err(OptError::Isa {
            name: name.into(),
            reason: format!("this CPU lacks one of {}", isa.entry().features.join(", ")),
        });
    }
    if let Some(c) = cap()? {
        if isa > c {
            return Err(OptError::Isa { name: name.into(), reason: format!("above CONFORM_MAX_ISA={}", c.name()) });
        }
    }
    Ok(isa)
}

/// What `conform isa` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsaReport {
    /// Variants compiled into this build, best first.
    pub compiled: Vec<&'static str>,
    /// Variants usable here (CPU features and cap), best first; each is valid for `--isa`.
    pub detected: Vec<&'static str>,
    /// The default choice.
    pub chosen: &'static str,
    /// Seeded-bug variants (`mutant:NAME`), only with the `mutants` feature.
    #[cfg(feature = "mutants")]
    pub mutants: Vec<String>,
}

/// The report for `conform isa`.
pub fn report() -> Result<IsaReport, OptError> {
    let det = detected()?;
    Ok(IsaReport {
        compiled: Isa::ALL.into_iter().filter(|i| i.compiled()).map(Isa::name).collect(),
        detected: det.iter().map(|i| i.name()).collect(),
        chosen: det.first().copied().unwrap_or(Isa::Scalar).name(),
        #[cfg(feature = "mutants")]
        mutants: crate::mutants::names(),
    })
}

/// Whether a per-ISA test must fail instead of skipping: `CONFORM_REQUIRE_ISA` lists the name.
pub fn required(isa: Isa) -> bool {
    std::env::var("CONFORM_REQUIRE_ISA").map(|v| v.split(',').any(|s| s.trim() == isa.name())).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order() {
        for i in Isa::ALL {
            assert_eq!(Isa::from_name(i.name()), Some(i));
        }
        assert!(Isa::Avx512Vnni > Isa::AvxVnni && Isa::AvxVnni > Isa::Avx2 && Isa::Avx2 > Isa::Scalar);
        assert_eq!(Isa::from_name("sse2"), None);
    }

    #[test]
    fn unknown_name_is_an_error_not_a_substitute() {
        assert!(matches!(select(Some("neon")), Err(OptError::Isa { .. })));
        assert_eq!(select(Some("scalar")).ok(), Some(Isa::Scalar));
    }
}
