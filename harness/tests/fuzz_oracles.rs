//! Oracle (e), `fallback`: the plan runs each main op in INT8 or falls back with exactly the
//! reason code the generator expects (INT8.md §1), and the oracle fails when they disagree.

use harness::fuzz::oracle::{self, OracleConfig};
use harness::gen::{self, CaseSpec, Form, MainOp, Regime, Tail, ACT_LEVELS};

fn config() -> OracleConfig {
    OracleConfig {
        isas: vec!["scalar".into()],
        int8_vs_fp32: false,
        determinism_every: 0,
        compression_every: 0,
        case_timeout: None,
        memory: false,
    }
}

/// A 1×1 convolution over a 3×3 input, 4 channels, 256 activation levels, no tail.
fn base_spec() -> CaseSpec {
    CaseSpec {
        regime: Regime::Exact,
        main: MainOp::Conv,
        form: Form::CompressedFq,
        batch: 1,
        cin: 4,
        cout: 4,
        h: 3,
        w: 3,
        k: 1,
        stride: 1,
        pad: 0,
        transpose_b: false,
        act_levels: 0,
        weight_levels: 0,
        weight_il_per_channel: false,
        bias: false,
        act_fn: 0,
        tail: Tail::None,
        range_shape: [0; 4],
        seed: 3,
        geo: Default::default(),
    }
}

/// [`base_spec`] whose activation FakeQuantize has `levels` levels.
fn case_with_act_levels(levels: u32) -> gen::GenCase {
    let act_levels = ACT_LEVELS.iter().position(|&l| l == levels).expect("a levels choice");
    gen::build(&CaseSpec { act_levels, ..base_spec() }).expect("builds")
}

#[test]
fn the_plan_falls_back_where_the_generator_expects() {
    // INT8.md §1 rule 2: activation levels other than 255/256 fall back with `act-levels`.
    let c = case_with_act_levels(16);
    assert_eq!(c.expect.len(), 1);
    assert_eq!(c.expect[0].fallback, Some("act-levels"));
    let o = oracle::run(&c, &config(), 0);
    assert!(o.ran.contains(&"fallback"));
    assert!(o.failures.is_empty(), "{:?}", o.failures);
    // 256 levels, integer zero point, i8 weights: INT8.
    let c = case_with_act_levels(256);
    assert_eq!(c.expect[0].fallback, None);
    let o = oracle::run(&c, &config(), 0);
    assert!(o.failures.is_empty(), "{:?}", o.failures);
}

#[test]
fn the_fallback_oracle_fails_on_a_wrong_expectation() {
    // Claim INT8 where the plan must fall back, and the reverse, and a wrong reason code.
    for (levels, wrong) in [(16, None), (256, Some("act-levels")), (16, Some("weight-levels"))] {
        let mut c = case_with_act_levels(levels);
        c.expect[0].fallback = wrong;
        let o = oracle::run(&c, &config(), 0);
        let f = o.failures.iter().find(|f| f.check == "fallback");
        let f = f.unwrap_or_else(|| panic!("L{levels} expecting {wrong:?}: no fallback failure in {:?}", o.failures));
        assert!(f.confirmed());
        assert!(f.message.contains("expected"), "{}", f.message);
    }
}

/// The MaxPool-8 tail (values and indices, OpenVINO's max-pool-8 spec) builds as an opset8 node
/// with an i64 second output, and the optimized engine agrees with the reference on it.
#[test]
fn a_maxpool_8_tail_has_two_outputs_and_passes() {
    let case = gen::build(&CaseSpec { tail: Tail::MaxPool8, ..base_spec() }).expect("builds");
    let pool = case.model.nodes().iter().find(|n| n.op_type == "MaxPool").expect("a MaxPool");
    assert_eq!(pool.version, "opset8");
    assert_eq!(pool.outputs.len(), 2);
    assert_eq!(pool.outputs[1].precision.as_deref(), Some("I64"));
    assert!(case.categories.contains(&"tail:maxpool8".to_string()), "{:?}", case.categories);
    let o = oracle::run(&case, &config(), 0);
    assert!(o.ran.contains(&"vs-reference-int8"));
    assert!(o.failures.is_empty(), "{:?}", o.failures);
}
