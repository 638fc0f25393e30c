//! `conform isa [--json]`: the optimized engine's ISA variants compiled in, usable on this CPU
//! (under `CONFORM_MAX_ISA`), and chosen by default; the seeded-bug variants with `mutants`.

use super::args::IsaArgs;
use super::Verdict;
use crate::error::CliError;
use crate::table::Table;

/// Runs the command.
pub fn run(a: &IsaArgs) -> Result<Verdict, CliError> {
    let r = optimized::isa::report()
        .map_err(|e| CliError::Unavailable { what: "ISA detection".into(), why: e.to_string() })?;
    #[cfg(feature = "mutants")]
    let mutants: Option<Vec<String>> = Some(r.mutants.clone());
    #[cfg(not(feature = "mutants"))]
    let mutants: Option<Vec<String>> = None;
    if a.json {
        let mut v = serde_json::json!({
            "compiled": r.compiled,
            "detected": r.detected,
            "chosen": r.chosen,
        });
        if let Some(m) = &mutants {
            v["mutants"] = serde_json::json!(m);
        }
        println!("{}", serde_json::to_string_pretty(&v).map_err(|e| CliError::Usage(e.to_string()))?);
        return Ok(Verdict::Ok);
    }
    let mut t = Table::new(&["variant", "compiled", "usable here", "chosen"]);
    for entry in optimized::isa::TABLE {
        let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
        t.row(vec![
            entry.name.to_string(),
            yes(r.compiled.contains(&entry.name)),
            yes(r.detected.contains(&entry.name)),
            if r.chosen == entry.name { "*".into() } else { String::new() },
        ]);
    }
    print!("{}", t.render());
    if let Some(m) = mutants {
        println!("mutants: {}", if m.is_empty() { "none".to_string() } else { m.join(", ") });
    }
    Ok(Verdict::Ok)
}
