//! The fuzz campaign: generate cases ([`crate::gen`]), run the [`oracle`]s, shrink a confirmed
//! finding through proptest's value tree, write it as a regression folder ([`regression`]).
//!
//! Case `i` of a campaign with seed `s` is drawn from its own ChaCha RNG seeded by `(s, i)`, so a
//! case is reproducible from `(seed, index)` alone, shards (`i % N == I`) are disjoint, and cases
//! run in parallel (rayon) in batches without changing what is generated.

pub mod memory;
pub mod oracle;
pub mod regression;

use crate::gen::{self, CaseSpec, GenCase};
use oracle::{Failure, OracleConfig, Outcome};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What a campaign runs.
#[derive(Debug, Clone)]
pub struct CampaignConfig {
    /// Campaign seed.
    pub seed: u64,
    /// Stop after this many cases (of this shard).
    pub max_cases: Option<u64>,
    /// Stop after this long.
    pub max_time: Option<Duration>,
    /// Shard `(I, N)`.
    pub shard: (u64, u64),
    /// Oracles.
    pub oracles: OracleConfig,
    /// Where minimized findings go (`None`: not written).
    pub out: Option<PathBuf>,
    /// Keep going after a confirmed finding.
    pub keep_going: bool,
    /// Time budget of shrinking one finding.
    pub shrink_time: Duration,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// A confirmed, minimized finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The regression folder (when written).
    pub path: Option<PathBuf>,
    /// The failure on the minimized case.
    pub failure: Failure,
    /// The minimized case's descriptor.
    pub descriptor: String,
    /// The one-line repro command.
    pub repro: String,
    /// Index of the original case.
    pub index: u64,
    /// Shrinking steps that kept failing.
    pub shrink_steps: u64,
    /// Seconds from the campaign's start to the written finding.
    pub seconds: f64,
}

/// The campaign's result.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Cases run.
    pub cases_run: u64,
    /// Wall seconds.
    pub seconds: f64,
    /// Category tally.
    pub categories: BTreeMap<String, u64>,
    /// Confirmed findings.
    pub findings: Vec<Finding>,
    /// Unconfirmed failures (implementation-defined inputs), counted.
    pub unconfirmed: u64,
    /// Failures that are open, known findings (`fuzz::memory::KNOWN`): counted, printed, not new.
    pub known: u64,
    /// MISTRUSTED cases.
    pub mistrusted: u64,
    /// Accepted flips.
    pub flips: u64,
    /// How many cases each oracle compared something on.
    pub checks_run: BTreeMap<String, u64>,
    /// Generator errors (a generator bug; each also a finding).
    pub generator_errors: u64,
}

impl Summary {
    /// Cases per second.
    pub fn cases_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.cases_run as f64 / self.seconds
        } else {
            0.0
        }
    }
}

fn rng_for(seed: u64, index: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&index.to_le_bytes());
    bytes[16..24].copy_from_slice(b"conform!");
    let cfg = Config { max_shrink_iters: 2048, ..Config::default() };
    TestRunner::new_with_rng(cfg, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// The value tree of case `index` of campaign `seed`.
pub fn tree(seed: u64, index: u64) -> Option<impl ValueTree<Value = CaseSpec>> {
    let mut runner = rng_for(seed, index);
    gen::case_spec().new_tree(&mut runner).ok()
}

fn evaluate(spec: &CaseSpec, cfg: &OracleConfig, index: u64) -> (Option<GenCase>, Outcome) {
    match gen::build(spec) {
        Ok(case) => {
            let o = oracle::run(&case, cfg, index);
            (Some(case), o)
        }
        Err(e) => {
            let mut o = Outcome::default();
            o.failures.push(Failure {
                check: "generator".into(),
                engines: vec![],
                classification: "bug".into(),
                message: e,
            });
            (None, o)
        }
    }
}

/// Shrinks a failing case through its value tree; keeps the simplest spec on which the same check
/// still fails (confirmed). Returns the spec, its case, the failure and the number of steps kept.
fn shrink(
    mut t: impl ValueTree<Value = CaseSpec>,
    check: &str,
    cfg: &OracleConfig,
    index: u64,
    budget: Duration,
) -> Option<(CaseSpec, GenCase, Failure, u64)> {
    let fails = |s: &CaseSpec| -> Option<(GenCase, Failure)> {
        let (c, o) = evaluate(s, cfg, index);
        let f = o.failures.into_iter().find(|f| f.check == check && f.confirmed())?;
        Some((c?, f))
    };
    let first = t.current();
    let (mut best_case, mut best_fail) = fails(&first)?;
    let mut best = first;
    let mut steps = 0;
    let start = Instant::now();
    if !t.simplify() {
        return Some((best, best_case, best_fail, 0));
    }
    while start.elapsed() < budget {
        let cur = t.current();
        if let Some((c, f)) = fails(&cur) {
            best = cur;
            best_case = c;
            best_fail = f;
            steps += 1;
            if !t.simplify() {
                break;
            }
        } else if !t.complicate() {
            break;
        }
    }
    let (best_case, best_fail, zeroed) =
        shrink_inputs(best_case, best_fail, check, cfg, index, budget.saturating_sub(start.elapsed()));
    Some((best, best_case, best_fail, steps + zeroed))
}

/// The constants phase of shrinking: sets input elements to 0 one at a time (first to last),
/// keeping each change under which the same check still fails, so the written case shows only
/// the values that matter. Stops at the budget; returns the case, its failure and how many
/// elements were zeroed.
fn shrink_inputs(
    mut case: GenCase,
    mut failure: Failure,
    check: &str,
    cfg: &OracleConfig,
    index: u64,
    budget: Duration,
) -> (GenCase, Failure, u64) {
    let start = Instant::now();
    let mut zeroed = 0u64;
    for k in 0..case.inputs.len() {
        let n = case.inputs[k].len();
        for e in 0..n.min(4096) {
            if start.elapsed() >= budget {
                break;
            }
            let mut v = case.inputs[k].to_f32_vec();
            if v[e].to_bits() == 0 {
                continue;
            }
            v[e] = 0.0;
            let Ok(t) = conform_ir::Tensor::from_f32(case.inputs[k].shape.clone(), v) else { continue };
            let mut trial = case.clone();
            trial.inputs[k] = t;
            let o = oracle::run(&trial, cfg, index);
            if let Some(f) = o.failures.into_iter().find(|f| f.check == check && f.confirmed()) {
                case = trial;
                failure = f;
                zeroed += 1;
            }
        }
    }
    if zeroed > 0 {
        case.descriptor.push_str(&format!(" | {zeroed} input elements zeroed"));
    }
    (case, failure, zeroed)
}

/// The ISA variant a failure names (`optimized:ISA` as its first engine).
fn isa_of(f: &Failure) -> Option<&str> {
    f.engines.first().and_then(|e| e.strip_prefix("optimized:"))
}

/// Runs a campaign.
pub fn run(cfg: &CampaignConfig) -> Summary {
    let start = Instant::now();
    let mut sum = Summary::default();
    let (si, sn) = (cfg.shard.0, cfg.shard.1.max(1));
    let bar = if cfg.progress {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        Some(b)
    } else {
        None
    };
    let batch = 64u64;
    let mut next = 0u64; // local case counter within the shard
    'outer: loop {
        let remaining = cfg.max_cases.map_or(batch, |m| m.saturating_sub(next).min(batch));
        if remaining == 0 || cfg.max_time.is_some_and(|t| start.elapsed() >= t) {
            break;
        }
        let indices: Vec<u64> = (next..next + remaining).map(|j| j * sn + si).collect();
        next += remaining;
        let results: Vec<(u64, Vec<String>, Outcome)> = indices
            .par_iter()
            .map(|&i| {
                let Some(t) = tree(cfg.seed, i) else {
                    return (i, vec![], Outcome::default());
                };
                let (c, o) = evaluate(&t.current(), &cfg.oracles, i);
                (i, c.map(|c| c.categories).unwrap_or_default(), o)
            })
            .collect();
        for (i, cats, o) in results {
            sum.cases_run += 1;
            for c in cats {
                *sum.categories.entry(c).or_default() += 1;
            }
            if o.mistrusted {
                sum.mistrusted += 1;
            }
            sum.flips += o.flips;
            for c in &o.ran {
                *sum.checks_run.entry(c.to_string()).or_default() += 1;
            }
            let known = o.failures.iter().filter(|f| f.classification == memory::KNOWN_FINDING).count() as u64;
            sum.known += known;
            sum.unconfirmed += o.failures.iter().filter(|f| !f.confirmed()).count() as u64 - known;
            let Some(f) = o.confirmed().cloned() else { continue };
            if f.check == "generator" {
                sum.generator_errors += 1;
            }
            if let Some(b) = &bar {
                b.set_message(format!("case {i}: {} FAILED ({}), shrinking", f.check, f.classification));
            }
            let finding = match tree(cfg.seed, i).and_then(|t| shrink(t, &f.check, &cfg.oracles, i, cfg.shrink_time)) {
                Some((_, case, failure, steps)) => {
                    let path = cfg
                        .out
                        .as_ref()
                        .and_then(|o| regression::write(o, &case, &failure, cfg.seed, isa_of(&failure)).ok());
                    let repro = match &path {
                        Some(p) => regression::repro(p, isa_of(&failure)),
                        None => format!("conform fuzz --seed {} --cases {} (case {i})", cfg.seed, i + 1),
                    };
                    Finding {
                        path,
                        failure,
                        descriptor: case.descriptor,
                        repro,
                        index: i,
                        shrink_steps: steps,
                        seconds: start.elapsed().as_secs_f64(),
                    }
                }
                None => Finding {
                    path: None,
                    failure: f,
                    descriptor: format!("case {i} (did not fail again when replayed: flaky?)"),
                    repro: format!("conform fuzz --seed {} --cases {}", cfg.seed, i + 1),
                    index: i,
                    shrink_steps: 0,
                    seconds: start.elapsed().as_secs_f64(),
                },
            };
            sum.findings.push(finding);
            if !cfg.keep_going {
                break 'outer;
            }
        }
        if let Some(b) = &bar {
            let el = start.elapsed().as_secs_f64().max(1e-9);
            b.set_message(format!(
                "{} cases, {:.0} cases/s, {} findings, {} mistrusted",
                sum.cases_run,
                sum.cases_run as f64 / el,
                sum.findings.len(),
                sum.mistrusted
            ));
            b.tick();
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    sum.seconds = start.elapsed().as_secs_f64();
    sum
}
