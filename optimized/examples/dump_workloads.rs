//! Writes every workload of `bench/shapes.json` as an OpenVINO IR (`DIR/<id>/model.xml`, `.bin`)
//! with its inputs (`input_K.npy`), exactly the models `conform bench` times, so a peer runtime can
//! be measured on the same definitions (`optimized/bench/peer_compare.py`).
//!
//! `cargo run --release -p conform-optimized --example dump_workloads -- OUT_DIR [WORKLOADS.json]`

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "workloads_ir".into()));
    let path = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/shapes.json")));
    let specs = match optimized::bench::load_workloads(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    for s in &specs {
        let (model, inputs, _) = match optimized::bench::build_workload(s) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {}: {e}", s.id);
                std::process::exit(2);
            }
        };
        let dir = out.join(&s.id);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("error: {}: {e}", dir.display());
            std::process::exit(2);
        }
        if let Err(e) = conform_ir::writer::write_model(&model, &dir.join("model.xml")) {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
        for (k, t) in inputs.iter().enumerate() {
            if let Err(e) = conform_ir::npy::write_npy(&dir.join(format!("input_{k}.npy")), t) {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
        println!("{}", dir.display());
    }
}
