//! The classified `cpu-vs-reference` check on a corpus model, with stand-in plugins whose outputs
//! are built by hand from the reference's, so the right verdict is known by construction:
//! the exact INT8 outputs pass; the outputs of the CPU plugin's policy (fractional activation zero
//! point rounded, `round` mode) fail as `zero-point-rounding`; one element moved by a whole unit
//! fails as `bug`; a NaN fails as `implementation-defined-input`.

use conform_ir::Tensor;
use harness::check::external;
use harness::check::result::Status;
use harness::engine::{Engine, EngineError, ModelRef};
use reference::int8::ZeroPointPolicy;
use reference::{Mode, RunOptions};
use std::path::{Path, PathBuf};

/// `matmul_fc_relu__expanded`: an activation FakeQuantize with a fractional zero point feeding a
/// MatMul, so the `round` policy changes the result (checked below).
const CASE: &str = "matmul_fc_relu__expanded";

struct Canned(Vec<Tensor>);

impl Engine for Canned {
    fn name(&self) -> String {
        "canned".into()
    }
    fn version(&self) -> String {
        "0".into()
    }
    fn run(&mut self, _: ModelRef<'_>, _: &[Tensor]) -> Result<Vec<Tensor>, EngineError> {
        Ok(self.0.clone())
    }
}

fn case() -> (PathBuf, conform_ir::Model, Vec<Tensor>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus").join(CASE);
    let path = dir.join("model.xml");
    let model = conform_ir::read_model(&path).expect("model");
    let inputs = (0..)
        .map(|k| dir.join(format!("input_{k}.npy")))
        .take_while(|p| p.is_file())
        .map(|p| conform_ir::npy::read_npy(&p).expect("input"))
        .collect();
    (path, model, inputs)
}

fn run(model: &conform_ir::Model, inputs: &[Tensor], policy: ZeroPointPolicy) -> Vec<Tensor> {
    let opts = RunOptions { mode: Mode::Int8(policy), max_memory: None, keep_values: false };
    reference::run(model, inputs, &opts).expect("reference").outputs
}

fn with(t: &[Tensor], i: usize, f: impl Fn(f32) -> f32) -> Vec<Tensor> {
    let mut v = t[0].to_f32_vec();
    v[i] = f(v[i]);
    let mut out = t.to_vec();
    out[0] = Tensor::from_f32(t[0].shape.clone(), v).expect("tensor");
    out
}

#[test]
fn stand_in_plugins_get_the_labels_their_construction_implies() {
    let (path, model, inputs) = case();
    let m = ModelRef { model: &model, path: &path };
    let exact = run(&model, &inputs, ZeroPointPolicy::Exact);
    let round = run(&model, &inputs, ZeroPointPolicy::Round);
    assert_ne!(exact[0].to_f32_vec(), round[0].to_f32_vec(), "the case must depend on the zero-point policy");

    let r = external::check(&mut Canned(exact.clone()), m, &inputs, None);
    assert_eq!(r.status, Status::Passed, "{}", r.detail);

    let r = external::check(&mut Canned(round.clone()), m, &inputs, None);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.classification.as_deref(), Some("zero-point-rounding"), "{}", r.detail);

    // The output is a ReLU of a block: no FakeQuantize level, no integer limit, far beyond any bound.
    let i = exact[0].to_f32_vec().iter().position(|v| *v > 0.0).expect("a positive output");
    let r = external::check(&mut Canned(with(&exact, i, |v| v + 1.0)), m, &inputs, None);
    assert_eq!(r.classification.as_deref(), Some("bug"), "{}", r.detail);
    // Same element wrong on top of the zero-point rounding: still a bug (the most serious label).
    let r = external::check(&mut Canned(with(&round, i, |v| v + 1.0)), m, &inputs, None);
    assert_eq!(r.classification.as_deref(), Some("bug"), "{}", r.detail);

    let r = external::check(&mut Canned(with(&exact, i, |_| f32::NAN)), m, &inputs, None);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.classification.as_deref(), Some("implementation-defined-input"), "{}", r.detail);
}
