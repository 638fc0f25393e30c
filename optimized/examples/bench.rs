//! `cargo run --release -p conform-optimized --example bench -- [--threads N] [--isa NAME] [--reps R] [--workloads FILE]`
//! Prints one line per workload of `bench/shapes.json` (end-to-end latency of the optimized engine).

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut threads = 1usize;
    let mut isa: Option<String> = None;
    let mut reps = 51usize;
    let mut path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/shapes.json"));
    let mut json = false;
    while let Some(a) = args.next() {
        if a == "--json" {
            json = true;
            continue;
        }
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--threads" => threads = v.parse().unwrap_or(1),
            "--isa" => isa = Some(v),
            "--reps" => reps = v.parse().unwrap_or(51),
            "--workloads" => path = PathBuf::from(v),
            _ => {
                eprintln!("unknown argument {a}");
                std::process::exit(2);
            }
        }
    }
    match optimized::bench::run_bench(&path, isa.as_deref(), threads, reps) {
        Ok(r) if json => println!("{}", r.to_json()),
        Ok(r) => {
            println!(
                "{:<24} {:>3} {:>11} {:>10} {:>10} {:>10} {:>8} {:>7}",
                "workload", "thr", "isa", "median_us", "min_us", "max_us", "GOPS", "%peak"
            );
            for w in &r.workloads {
                println!(
                    "{:<24} {:>3} {:>11} {:>10.1} {:>10.1} {:>10.1} {:>8.1} {:>7.1}",
                    w.id, w.threads, w.isa, w.median_us, w.min_us, w.max_us, w.gops, w.percent_of_peak
                );
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
