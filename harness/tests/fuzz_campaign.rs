//! A budgeted fuzz campaign on the default optimized variant: every oracle passes, every regime,
//! main op and weight form is generated (a skewed generator fails here), and the campaign is
//! reproducible from its seed. Budget: 300 cases; `CONFORM_SOAK=F` multiplies it.

use harness::fuzz::{self, oracle::OracleConfig, CampaignConfig};
use std::time::Duration;

fn budget() -> u64 {
    let soak = std::env::var("CONFORM_SOAK").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(1.0).max(1.0);
    (300.0 * soak) as u64
}

fn config(seed: u64, cases: u64) -> CampaignConfig {
    let isas: Vec<String> =
        optimized::isa::detected().expect("ISA detection").iter().map(|i| i.name().to_string()).collect();
    CampaignConfig {
        seed,
        max_cases: Some(cases),
        max_time: None,
        shard: (0, 1),
        oracles: OracleConfig {
            isas,
            int8_vs_fp32: true,
            determinism_every: 8,
            compression_every: 2,
            case_timeout: None,
            memory: true,
        },
        out: None,
        keep_going: true,
        shrink_time: Duration::from_secs(10),
        progress: false,
    }
}

#[test]
fn budgeted_campaign_passes_and_covers_every_category() {
    let sum = fuzz::run(&config(1, budget()));
    assert_eq!(sum.cases_run, budget());
    let msgs: Vec<String> = sum
        .findings
        .iter()
        .map(|f| {
            format!("{} [{}]: {} — {}", f.failure.check, f.failure.classification, f.descriptor, f.failure.message)
        })
        .collect();
    assert!(msgs.is_empty(), "findings:\n{}", msgs.join("\n"));
    for cat in [
        "regime:general",
        "regime:exact",
        "regime:ties",
        "regime:extremes",
        "regime:specials",
        "op:conv",
        "op:depthwise",
        "op:matmul",
        "op:matmul-act",
        "form:expanded",
        "form:compressed-fq",
        "form:compressed-dq",
        "int8",
        "fallback",
        "tail:fakequantize",
        "tail:secondblock",
        "tail:addbranch",
        "tail:concat",
        "tail:reshape",
        "tail:avgpool",
        "tail:maxpool",
        "tail:maxpool8",
        // The levels set of issue 6 on activations and weights.
        "levels:act:2",
        "levels:act:16",
        "levels:act:255",
        "levels:act:256",
        "levels:act:65536",
        "levels:w:2",
        "levels:w:16",
        "levels:w:255",
        "levels:w:256",
        "levels:w:65536",
        // Each tail FakeQuantize range shape.
        "fq-range:scalar",
        "fq-range:per-channel",
        "fq-range:full",
        "fq-range:lower-rank",
    ] {
        let n = sum.categories.get(cat).copied().unwrap_or(0);
        // Each category should get at least 2% of the cases.
        assert!(n * 50 >= sum.cases_run, "category {cat}: {n} of {} cases ({:?})", sum.cases_run, sum.categories);
    }
    for check in ["vs-reference-int8", "fallback", "int8-vs-fp32", "determinism", "compressed-vs-expanded", "memory"] {
        let n = sum.checks_run.get(check).copied().unwrap_or(0);
        assert!(n > 0, "oracle {check} never compared anything: {:?}", sum.checks_run);
    }
    eprintln!("checks run: {:?}", sum.checks_run);
    eprintln!(
        "{} cases, {:.0} cases/s, {} mistrusted, {} flips: {:?}",
        sum.cases_run,
        sum.cases_per_second(),
        sum.mistrusted,
        sum.flips,
        sum.categories
    );
}

#[test]
fn a_campaign_is_reproducible_and_shards_are_disjoint() {
    let a = fuzz::run(&config(9, 40));
    let b = fuzz::run(&config(9, 40));
    assert_eq!(a.categories, b.categories);
    // Shard 0/2 and 1/2 together generate what the unsharded campaign generates.
    let mut s0 = config(9, 20);
    s0.shard = (0, 2);
    let mut s1 = config(9, 20);
    s1.shard = (1, 2);
    let (x, y) = (fuzz::run(&s0), fuzz::run(&s1));
    let mut joined = x.categories.clone();
    for (k, v) in y.categories {
        *joined.entry(k).or_default() += v;
    }
    assert_eq!(joined, a.categories);
}
