//! The outcome of checks: per check a status with its figures, per case the list, and the
//! summary that decides the exit status.

use serde::Serialize;
use std::collections::BTreeMap;

/// The verdict of one check (CONTRACT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Within the bound.
    Passed,
    /// Outside the bound, or an engine failed.
    Failed,
    /// Within the bound, but more than half of the compared outputs are zero or clamped.
    Mistrusted,
    /// Not run, with the reason in `detail`.
    Skipped,
}

impl Status {
    /// The upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Passed => "PASSED",
            Status::Failed => "FAILED",
            Status::Mistrusted => "MISTRUSTED",
            Status::Skipped => "SKIPPED",
        }
    }
}

/// One check of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// The check's name (`manifest`, `fp32-vs-fallback`, ...).
    pub check: String,
    /// The engines compared (actual first).
    pub engines: Vec<String>,
    /// The verdict.
    pub status: Status,
    /// Largest |Δ| over the compared outputs.
    pub max_abs: Option<f64>,
    /// Largest ulp distance.
    pub max_ulp: Option<u64>,
    /// The bound |Δ| was held to (0 = bit-exact).
    pub bound: Option<f64>,
    /// Accepted FakeQuantize flips (SPEC §0.4).
    pub flips: Option<u64>,
    /// What a mismatch is (`bug`, `tie-flip`, `zero-point-rounding`, `timeout`, ...).
    pub classification: Option<String>,
    /// Details for people: why skipped, where it differs.
    pub detail: String,
    /// The reason from the accepted-findings file when this FAILED check is a known finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
}

impl CheckResult {
    /// A check with only a status and a detail.
    pub fn new(check: &str, engines: Vec<String>, status: Status, detail: impl Into<String>) -> CheckResult {
        CheckResult {
            check: check.to_string(),
            engines,
            status,
            max_abs: None,
            max_ulp: None,
            bound: None,
            flips: None,
            classification: None,
            detail: detail.into(),
            accepted: None,
        }
    }

    /// A SKIPPED check with its reason.
    pub fn skipped(check: &str, engines: Vec<String>, why: impl Into<String>) -> CheckResult {
        Self::new(check, engines, Status::Skipped, why)
    }

    /// A FAILED check classified `bad-input`: the case itself is invalid (unreadable, or refused
    /// by the reference), so the run ends with exit status 2 rather than 1.
    pub fn bad_input(check: &str, engines: Vec<String>, why: impl Into<String>) -> CheckResult {
        let mut r = Self::new(check, engines, Status::Failed, why);
        r.classification = Some("bad-input".into());
        r
    }

    /// True for a check classified `bad-input`.
    pub fn is_bad_input(&self) -> bool {
        self.classification.as_deref() == Some("bad-input")
    }
}

/// The checks of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    /// The case name.
    pub case: String,
    /// The model checked.
    pub path: String,
    /// Its checks in order.
    pub checks: Vec<CheckResult>,
}

/// Counts per status, and the exit decision.
pub fn summary(cases: &[CaseResult]) -> BTreeMap<&'static str, u64> {
    let mut s: BTreeMap<&'static str, u64> =
        [Status::Passed, Status::Failed, Status::Mistrusted, Status::Skipped].iter().map(|st| (st.name(), 0)).collect();
    for c in cases {
        for k in &c.checks {
            *s.entry(k.status.name()).or_default() += 1;
        }
    }
    s
}

/// True when the run is a conformance failure: an unaccepted FAILED check, or no engine check
/// PASSED (a model that merely reads, or agrees with its manifest, proves nothing about engines).
pub fn is_failure(cases: &[CaseResult]) -> bool {
    let checks = || cases.iter().flat_map(|c| c.checks.iter());
    let failed = checks().any(|k| k.status == Status::Failed && k.accepted.is_none());
    let passed = checks().any(|k| k.status == Status::Passed && !matches!(k.check.as_str(), "read" | "manifest"));
    failed || !passed
}
