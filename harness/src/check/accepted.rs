//! The accepted-findings file (`--accepted FILE`, CONTRACT.md): known, classified differences of
//! an engine, so that a gate fails only on new findings. An entry no FAILED check reproduces is
//! stale, and a stale entry fails the gate too.

use super::result::{CaseResult, Status};
use crate::error::CliError;
use serde::Deserialize;
use std::path::Path;

/// One accepted finding.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct Accepted {
    /// The engine (matches one of a check's engines; a name without options matches any options).
    pub engine: String,
    /// The case name, or a pattern with `*` wildcards.
    pub case: String,
    /// The check's name.
    pub check: String,
    /// The expected classification (empty matches any).
    #[serde(default)]
    pub classification: String,
    /// Why it is accepted.
    pub reason: String,
}

/// Reads the file.
pub fn read(path: &Path) -> Result<Vec<Accepted>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| CliError::BadFile {
        path: path.to_path_buf(),
        message: format!("expected a JSON list of {{engine, case, check, classification, reason}}: {e}"),
    })
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn engine_matches(entry: &str, engine: &str) -> bool {
    engine == entry || engine.split(':').next() == Some(entry)
}

/// Marks the FAILED checks that entries accept; returns the stale entries.
pub fn apply(entries: &[Accepted], cases: &mut [CaseResult]) -> Vec<Accepted> {
    let mut used = vec![false; entries.len()];
    for c in cases.iter_mut() {
        for k in c.checks.iter_mut().filter(|k| k.status == Status::Failed) {
            let hit = entries.iter().position(|e| {
                glob_match(&e.case, &c.case)
                    && e.check == k.check
                    && k.engines.iter().any(|en| engine_matches(&e.engine, en))
                    && (e.classification.is_empty() || k.classification.as_deref() == Some(e.classification.as_str()))
            });
            if let Some(i) = hit {
                used[i] = true;
                k.accepted = Some(entries[i].reason.clone());
            }
        }
    }
    entries.iter().zip(used).filter(|(_, u)| !u).map(|(e, _)| e.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::super::result::CheckResult;
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("conv_*__legacy", "conv_s2__legacy"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXcYb"));
        assert!(!glob_match("conv_*", "gconv_x"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn accepts_matching_failures_and_reports_stale_entries() {
        let mut fail = CheckResult::new("cpu-vs-fallback", vec!["openvino-cpu:lpt=on".into()], Status::Failed, "x");
        fail.classification = Some("zero-point-rounding".into());
        let mut cases = vec![CaseResult { case: "fq_asym_signed".into(), path: String::new(), checks: vec![fail] }];
        let entries = vec![
            Accepted {
                engine: "openvino-cpu".into(),
                case: "fq_*".into(),
                check: "cpu-vs-fallback".into(),
                classification: "zero-point-rounding".into(),
                reason: "known".into(),
            },
            Accepted {
                engine: "openvino-cpu".into(),
                case: "other".into(),
                check: "cpu-vs-fallback".into(),
                classification: String::new(),
                reason: "gone".into(),
            },
        ];
        let stale = apply(&entries, &mut cases);
        assert_eq!(cases[0].checks[0].accepted.as_deref(), Some("known"));
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].reason, "gone");
    }
}
