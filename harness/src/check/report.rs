//! The reports of `check`: the table on stdout, the JSON report and the JUnit XML report
//! (documented in the README).

use super::result::{summary, CaseResult, Status};
use crate::machine::Machine;
use crate::table::Table;
use serde::Serialize;
use std::collections::BTreeMap;

/// The JSON schema version of the `check` report; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// One engine of the run, with its version and whether it could run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EngineInfo {
    /// The engine's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Null when available; otherwise why not.
    pub unavailable: Option<String>,
}

/// The whole JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool's version.
    pub tool_version: String,
    /// CPU model and ISA variants.
    pub machine: Machine,
    /// Engines of the run.
    pub engines: Vec<EngineInfo>,
    /// Per case, its checks.
    pub cases: Vec<CaseResult>,
    /// Counts per status.
    pub summary: BTreeMap<&'static str, u64>,
    /// Accepted-findings entries that no FAILED check reproduced (a stale entry fails the gate).
    pub stale_accepted: Vec<serde_json::Value>,
}

impl Report {
    /// Builds the report.
    pub fn new(
        machine: Machine,
        engines: Vec<EngineInfo>,
        cases: Vec<CaseResult>,
        stale_accepted: Vec<serde_json::Value>,
    ) -> Report {
        let summary = summary(&cases);
        Report {
            schema_version: SCHEMA_VERSION,
            tool_version: crate::TOOL_VERSION.to_string(),
            machine,
            engines,
            cases,
            summary,
            stale_accepted,
        }
    }
}

fn fmt_opt_f(x: Option<f64>) -> String {
    x.map(|v| if v == 0.0 { "0".to_string() } else { format!("{v:.3e}") }).unwrap_or_else(|| "-".into())
}

fn fmt_opt_u(x: Option<u64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// The table printed on stdout.
pub fn table(cases: &[CaseResult]) -> String {
    let mut t =
        Table::new(&["case", "check", "engines", "status", "max |Δ|", "max ulp", "bound", "flips", "classification"]);
    for c in cases {
        for k in &c.checks {
            let status = match &k.accepted {
                Some(_) => format!("{} (accepted)", k.status.name()),
                None => k.status.name().to_string(),
            };
            t.row(vec![
                c.case.clone(),
                k.check.clone(),
                if k.engines.is_empty() { "-".into() } else { k.engines.join(" vs ") },
                status,
                fmt_opt_f(k.max_abs),
                fmt_opt_u(k.max_ulp),
                fmt_opt_f(k.bound),
                fmt_opt_u(k.flips),
                k.classification.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
    }
    t.render()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML report: one `<testsuite>` per case, one `<testcase>` per check
/// (`classname` = case, `name` = check and engines). FAILED → `<failure>`, SKIPPED → `<skipped>`,
/// MISTRUSTED → a passing test case with a `status` property and the reason in `<system-out>`.
pub fn junit(report: &Report) -> String {
    let count = |st: Status| report.cases.iter().flat_map(|c| &c.checks).filter(|k| k.status == st).count();
    let total: usize = report.cases.iter().map(|c| c.checks.len()).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"conform check\" tests=\"{total}\" failures=\"{}\" skipped=\"{}\" errors=\"0\">\n",
        count(Status::Failed),
        count(Status::Skipped)
    ));
    for c in &report.cases {
        let f = c.checks.iter().filter(|k| k.status == Status::Failed).count();
        let s = c.checks.iter().filter(|k| k.status == Status::Skipped).count();
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" skipped=\"{s}\" errors=\"0\">\n",
            xml_escape(&c.case),
            c.checks.len()
        ));
        for k in &c.checks {
            let name = if k.engines.is_empty() {
                k.check.clone()
            } else {
                format!("{} [{}]", k.check, k.engines.join(" vs "))
            };
            x.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">\n",
                xml_escape(&c.case),
                xml_escape(&name)
            ));
            x.push_str(&format!(
                "      <properties><property name=\"status\" value=\"{}\"/><property name=\"max_abs\" value=\"{}\"/><property name=\"max_ulp\" value=\"{}\"/><property name=\"bound\" value=\"{}\"/></properties>\n",
                k.status.name(),
                fmt_opt_f(k.max_abs),
                fmt_opt_u(k.max_ulp),
                fmt_opt_f(k.bound)
            ));
            match k.status {
                Status::Failed if k.accepted.is_none() => x.push_str(&format!(
                    "      <failure type=\"{}\" message=\"{}\"/>\n",
                    xml_escape(k.classification.as_deref().unwrap_or("unclassified")),
                    xml_escape(&k.detail)
                )),
                Status::Skipped => x.push_str(&format!("      <skipped message=\"{}\"/>\n", xml_escape(&k.detail))),
                _ => x.push_str(&format!("      <system-out>{}</system-out>\n", xml_escape(&k.detail))),
            }
            x.push_str("    </testcase>\n");
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::super::result::CheckResult;
    use super::*;

    #[test]
    fn junit_escapes_and_maps_statuses() {
        let cases = vec![CaseResult {
            case: "a<b".into(),
            path: "x".into(),
            checks: vec![
                CheckResult::new("c1", vec![], Status::Failed, "bad & worse"),
                CheckResult::skipped("c2", vec!["e".into()], "no \"engine\""),
                CheckResult::new("c3", vec![], Status::Passed, "ok"),
            ],
        }];
        let machine =
            crate::machine::Machine { cpu_model: "cpu".into(), logical_cpus: 1, isa_detected: vec![], os: "os".into() };
        let r = Report::new(machine, vec![], cases, vec![]);
        let x = junit(&r);
        assert!(x.contains("tests=\"3\" failures=\"1\" skipped=\"1\""));
        assert!(x.contains("<testsuite name=\"a&lt;b\""));
        assert!(x.contains("<failure type=\"unclassified\" message=\"bad &amp; worse\"/>"));
        assert!(x.contains("<skipped message=\"no &quot;engine&quot;\"/>"));
        assert_eq!(r.summary.get("PASSED"), Some(&1));
        assert_eq!(r.summary.get("MISTRUSTED"), Some(&0));
    }
}
