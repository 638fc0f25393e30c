//! `conform fuzz --isa mutant:NAME` finds and shrinks every seeded bug within a small budget, and
//! the minimized case it writes passes on the correct kernels (so the finding is the bug's). Each
//! mutant runs on its home ISA (`Mutant::home`); one whose home the CPU lacks is skipped (fails
//! when `CONFORM_REQUIRE_ISA` names that ISA).
//! Run with `cargo test -p conform --features mutants`.
#![cfg(feature = "mutants")]

use harness::fuzz::{self, oracle::OracleConfig, CampaignConfig};
use std::time::{Duration, Instant};

#[test]
fn every_seeded_bug_is_found_and_shrunk() {
    let out = std::env::temp_dir().join(format!("conform-fuzz-mutants-{}", std::process::id()));
    let mut report = Vec::new();
    for (mu, m) in optimized::mutants::ALL {
        // A mutant lives in its home ISA's kernels: skip it where that variant cannot run.
        let home = mu.home();
        if !optimized::isa::usable(home).unwrap_or(false) {
            assert!(
                !optimized::isa::required(home),
                "mutant:{m}: {home} is required (CONFORM_REQUIRE_ISA) but unusable"
            );
            eprintln!("SKIP mutant:{m}: its home ISA {home} is not usable here");
            continue;
        }
        let t = Instant::now();
        let cfg = CampaignConfig {
            seed: 0,
            max_cases: Some(3000),
            max_time: Some(Duration::from_secs(60)),
            shard: (0, 1),
            oracles: OracleConfig {
                isas: vec![format!("mutant:{m}")],
                int8_vs_fp32: false,
                // As `conform fuzz` runs it: a partition bug shows only on 2 threads.
                determinism_every: 16,
                compression_every: 0,
                case_timeout: None,
                memory: true,
            },
            out: Some(out.clone()),
            keep_going: false,
            shrink_time: Duration::from_secs(8),
            progress: false,
        };
        let sum = fuzz::run(&cfg);
        let f = sum.findings.first().unwrap_or_else(|| panic!("mutant:{m} not found in {} cases", sum.cases_run));
        // A partition bug (one thread runs one task) differs only between thread counts.
        let check = if m == "split-border" { "determinism" } else { "vs-reference-int8" };
        assert_eq!(f.failure.check, check, "mutant:{m}: {}", f.failure.message);
        if m == "drop-frac-zp" {
            // Dropping `− frac·W` leaves z_int = round_ties_even(z) and frac 0: exactly the `round`
            // policy of INT8.md §2, which the classifier recognizes by re-running the reference.
            assert_eq!(f.failure.classification, "zero-point-rounding", "mutant:{m}");
        }
        let dir = f.path.clone().unwrap_or_else(|| panic!("mutant:{m}: no regression folder written"));
        for file in ["model.xml", "model.bin", "input_0.npy", "reference_0.npy", "manifest.json"] {
            assert!(dir.join(file).is_file(), "mutant:{m}: {file} missing in {}", dir.display());
        }
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest")).expect("JSON");
        for key in [
            "name",
            "description",
            "form",
            "inputs",
            "outputs",
            "op_counts",
            "descriptor",
            "seed",
            "engines",
            "check",
            "classification",
            "message",
            "repro",
        ] {
            assert!(manifest.get(key).is_some(), "mutant:{m}: manifest lacks {key}");
        }
        // The minimized case, replayed from disk on the correct scalar kernels, matches the reference.
        let model = conform_ir::read_model(&dir.join("model.xml")).expect("the written model reads");
        let x = conform_ir::npy::read_npy(&dir.join("input_0.npy")).expect("input");
        let mut inputs = vec![x];
        if dir.join("input_1.npy").is_file() {
            inputs.push(conform_ir::npy::read_npy(&dir.join("input_1.npy")).expect("input 1"));
        }
        let want = conform_ir::npy::read_npy(&dir.join("reference_0.npy")).expect("reference");
        let plan = optimized::compile(
            &model,
            &optimized::PlanOptions { isa: Some("scalar".into()), threads: Some(1), ..Default::default() },
        )
        .expect("compile");
        let got = plan.run(&inputs).expect("run");
        let bits = |t: &conform_ir::Tensor| t.to_f32_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got.outputs[0]), bits(&want), "mutant:{m}: the minimized case fails without the mutant too");
        // Small: the shrunk model has few nodes.
        assert!(
            model.nodes().len() <= 24,
            "mutant:{m}: {} nodes after shrinking: {}",
            model.nodes().len(),
            f.descriptor
        );
        report.push(format!(
            "mutant:{m}: found at case {} and shrunk ({} steps) in {:.2} s: {}",
            f.index,
            f.shrink_steps,
            t.elapsed().as_secs_f64(),
            f.descriptor
        ));
    }
    let _ = std::fs::remove_dir_all(&out);
    eprintln!("{}", report.join("\n"));
}
