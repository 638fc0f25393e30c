//! Findings of the fuzzer in other parts of the tree, kept as tests once fixed so they stay fixed.

use harness::gen::{self, CaseSpec, Form, MainOp, Regime, Tail};

/// Found by `conform fuzz`: a MaxPool-1 after an INT8 conv block (MaxPool opset1 has exactly one
/// output, OpenVINO's MaxPool-1 spec) made the optimized engine's FP32 fallback return two
/// outputs ("produced 2 outputs, the layer declares 1"). The reference runs the same model.
/// Fixed in `optimized/src/fallback/pool.rs` (one output below opset8).
#[test]
fn maxpool_1_after_an_int8_block_runs_on_the_optimized_engine() {
    let spec = CaseSpec {
        regime: Regime::General,
        main: MainOp::Conv,
        form: Form::CompressedDq,
        batch: 1,
        cin: 2,
        cout: 3,
        h: 4,
        w: 4,
        k: 1,
        stride: 1,
        pad: 0,
        transpose_b: false,
        act_levels: 0,
        weight_levels: 0,
        weight_il_per_channel: false,
        bias: false,
        act_fn: 0,
        tail: Tail::MaxPool,
        range_shape: [0; 4],
        seed: 1,
    };
    let case = gen::build(&spec).expect("builds");
    let r8 = harness::fuzz::oracle::reference_int8(&case).expect("the reference runs MaxPool-1");
    assert_eq!(r8.len(), 1);
    let plan = optimized::compile(
        &case.model,
        &optimized::PlanOptions { isa: Some("scalar".into()), threads: Some(1), ..Default::default() },
    )
    .expect("compiles");
    let out = plan.run(&case.inputs).unwrap_or_else(|e| panic!("{}: {e}", case.descriptor));
    let bits = |t: &conform_ir::Tensor| t.to_f32_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&out.outputs[0]), bits(&r8[0]));
}
