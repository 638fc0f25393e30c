//! The `conform` binary end to end: exit statuses of CONTRACT.md (0 good, 1 conformance failure,
//! 2 bad input / usage / environment), messages that name the problem, and no panic on malformed
//! input (a caught panic prints "internal error", which no test may see).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn conform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap_or_else(|e| panic!("cannot run conform: {e}"))
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn assert_exit(o: &Output, code: i32, what: &str) {
    assert_eq!(o.status.code(), Some(code), "{what}: {}", text(o));
    assert!(!text(o).contains("internal error"), "{what} panicked: {}", text(o));
    assert!(!text(o).contains("panicked at"), "{what} panicked: {}", text(o));
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("conform-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

const CASE: &str = "corpus/conv_s2_asympad_relu__mo_u8";

#[test]
fn version_and_help_exit_0() {
    let o = conform(&["--version"]);
    assert_exit(&o, 0, "--version");
    assert!(String::from_utf8_lossy(&o.stdout).contains(env!("CARGO_PKG_VERSION")));
    assert_exit(&conform(&["help"]), 0, "help");
    assert_exit(&conform(&["help", "check"]), 0, "help check");
    assert_exit(&conform(&["inspect", "--help"]), 0, "inspect --help");
}

#[test]
fn usage_errors_exit_2() {
    assert_exit(&conform(&["frobnicate"]), 2, "unknown command");
    assert_exit(&conform(&["inspect"]), 2, "missing MODEL");
    assert_exit(&conform(&["infer", "x.xml", "--mode", "int4", "--out", "o"]), 2, "bad --mode");
    assert_exit(&conform(&["compress", "a.xml", "b.xml", "--form", "zz"]), 2, "bad --form");
    assert_exit(&conform(&["fuzz", "--time", "1", "--cases", "2"]), 2, "--time with --cases");
    let o = conform(&["check", CASE, "--engine", "tensorrt"]);
    assert_exit(&o, 2, "unknown engine");
    assert!(text(&o).contains("unknown engine"), "{}", text(&o));
}

#[test]
fn inspect_reads_a_corpus_model() {
    let o = conform(&["inspect", &format!("{CASE}/model.xml")]);
    assert_exit(&o, 0, "inspect");
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("compressed-fq"), "{s}");
    assert!(s.contains("Convolution"), "{s}");
}

/// Each malformed input names the file and the problem, and exits 2.
#[test]
fn malformed_inputs_exit_2_with_a_message() {
    let d = tmp("malformed");
    let good_xml =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(CASE).join("model.xml"))
            .unwrap_or_else(|e| panic!("{e}"));
    let good_bin = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(CASE).join("model.bin"))
        .unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, xml: &str, bin: &[u8]| -> String {
        let x = d.join(format!("{name}.xml"));
        std::fs::write(&x, xml).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(d.join(format!("{name}.bin")), bin).unwrap_or_else(|e| panic!("{e}"));
        x.display().to_string()
    };
    let cases: Vec<(&str, String, Vec<u8>, &str)> = vec![
        ("missing", String::new(), vec![], ""),
        ("not_xml", "this is not XML <<<".into(), vec![], "not_xml.xml"),
        ("not_ir", "<?xml version=\"1.0\"?><html><body/></html>".into(), vec![], "not_ir.xml"),
        ("truncated_bin", good_xml.clone(), good_bin[..good_bin.len() / 2].to_vec(), "truncated_bin"),
        ("unknown_type", good_xml.replacen("element_type=\"u8\"", "element_type=\"q7\"", 1), good_bin.clone(), "q7"),
        ("bad_version", good_xml.replacen("version=\"11\"", "version=\"99\"", 1), good_bin.clone(), "99"),
        ("dangling_edge", good_xml.replacen("to-layer=\"", "to-layer=\"9999", 1), good_bin.clone(), "9999"),
    ];
    for (name, xml, bin, needle) in cases {
        let path =
            if name == "missing" { d.join("missing.xml").display().to_string() } else { write(name, &xml, &bin) };
        let o = conform(&["inspect", &path]);
        assert_exit(&o, 2, name);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("conform: error:"), "{name}: {err}");
        assert!(err.contains(name.split('_').next().unwrap_or(name)) || err.contains(needle), "{name}: {err}");
    }
    // infer with a malformed .npy and with the wrong number of inputs.
    let npy = d.join("bad.npy");
    std::fs::write(&npy, b"\x93NUMPY garbage").unwrap_or_else(|e| panic!("{e}"));
    let out = d.join("out");
    let o = conform(&[
        "infer",
        &format!("{CASE}/model.xml"),
        "--input",
        &npy.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    assert_exit(&o, 2, "bad npy");
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.npy"));
    let o = conform(&["infer", &format!("{CASE}/model.xml"), "--out", &out.display().to_string()]);
    assert_exit(&o, 2, "no inputs");
    // check on a path that does not exist, and on a folder without cases.
    assert_exit(&conform(&["check", "no/such/folder"]), 2, "check missing path");
    assert_exit(&conform(&["check", &d.display().to_string()]), 2, "check folder without cases");
    // An accepted-findings file that is not the documented JSON.
    let acc = d.join("accepted.json");
    std::fs::write(&acc, "{\"not\": \"a list\"}").unwrap_or_else(|e| panic!("{e}"));
    assert_exit(
        &conform(&["check", CASE, "--engine", "reference", "--accepted", &acc.display().to_string()]),
        2,
        "bad accepted",
    );
}

/// IRs that read but mean nothing: the reference refuses them (or shape inference contradicts
/// their declared dims), so every command that runs them exits 2 naming the layer, never 1 (a
/// conformance failure would blame the engines for a bad file).
#[test]
fn models_the_reference_refuses_exit_2() {
    let d = tmp("refused");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(CASE);
    let xml = std::fs::read_to_string(root.join("model.xml")).unwrap_or_else(|e| panic!("{e}"));
    let input = root.join("input_0.npy").display().to_string();
    let cases = [
        // (name, edited XML, commands that must refuse it, fragment of the message)
        ("zero_stride", xml.replacen("strides=\"2, 2\"", "strides=\"0, 2\"", 1), "stride"),
        ("levels_0", xml.replacen("levels=\"256\"", "levels=\"0\"", 1), "levels"),
        ("unknown_op", xml.replacen("type=\"Convolution\"", "type=\"Convolutionz\"", 1), "Convolutionz"),
        ("declared_dims", xml.replacen("<dim>8</dim>", "<dim>9</dim>", 1), "1,9,15,15"),
    ];
    for (name, edited, needle) in cases {
        assert_ne!(edited, xml, "{name}: the edit must apply");
        let case = d.join(name);
        std::fs::create_dir_all(&case).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(case.join("model.xml"), &edited).unwrap_or_else(|e| panic!("{e}"));
        for f in ["model.bin", "input_0.npy", "fallback_f32_0.npy"] {
            std::fs::copy(root.join(f), case.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        let model = case.join("model.xml").display().to_string();
        let out = d.join(format!("{name}-out")).display().to_string();
        let runs: [Vec<&str>; 4] = [
            vec!["check", &model],
            vec!["check", case.to_str().unwrap_or_default(), "--engine", "reference"],
            vec!["infer", &model, "--input", &input, "--out", &out],
            vec!["infer", &model, "--input", &input, "--engine", "optimized", "--out", &out],
        ];
        for args in runs {
            let o = conform(&args);
            assert_exit(&o, 2, &format!("{name}: {}", args.join(" ")));
            assert!(text(&o).contains(needle), "{name}: {}: {}", args.join(" "), text(&o));
        }
    }
    // inspect only reads; it still refuses what shape inference or the levels contradict.
    for name in ["levels_0", "declared_dims"] {
        let o = conform(&["inspect", &d.join(name).join("model.xml").display().to_string()]);
        assert_exit(&o, 2, &format!("inspect {name}"));
    }
}

#[test]
fn infer_writes_outputs_and_their_names() {
    let d = tmp("infer");
    let o = conform(&[
        "infer",
        &format!("{CASE}/model.xml"),
        "--input",
        &format!("{CASE}/input_0.npy"),
        "--out",
        &d.display().to_string(),
        "--trace",
    ]);
    assert_exit(&o, 0, "infer");
    assert!(String::from_utf8_lossy(&o.stdout).contains("Convolution"), "trace lists the nodes");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("outputs.json")).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or(serde_json::Value::Null);
    // The manifest's output 0 has shape [1, 16, 7, 7].
    assert_eq!(json.pointer("/0/index").and_then(|v| v.as_u64()), Some(0));
    assert_eq!(json.pointer("/0/shape"), Some(&serde_json::json!([1, 16, 7, 7])));
    let t = conform_ir::npy::read_npy(&d.join("output_0.npy")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.shape, vec![1, 16, 7, 7]);
    assert_eq!(t.element_type, conform_ir::ElementType::F32);
}

#[test]
fn check_one_case_writes_json_and_junit() {
    let d = tmp("check");
    let json = d.join("r.json");
    let junit = d.join("r.xml");
    let o = conform(&[
        "check",
        CASE,
        "--engine",
        "reference",
        "--json",
        &json.display().to_string(),
        "--junit",
        &junit.display().to_string(),
    ]);
    // The reference may or may not pass here; what is checked is the report's shape.
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{}", text(&o));
    assert!(!text(&o).contains("internal error"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for col in ["case", "check", "engines", "status", "max |Δ|", "max ulp", "bound", "flips", "classification"] {
        assert!(stdout.contains(col), "table column {col}: {stdout}");
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default();
    for key in ["schema_version", "tool_version", "machine", "engines", "cases", "summary"] {
        assert!(r.get(key).is_some(), "JSON key {key}");
    }
    let checks = r.pointer("/cases/0/checks").and_then(|c| c.as_array()).cloned().unwrap_or_default();
    assert!(checks.iter().any(|c| c.get("check").and_then(|v| v.as_str()) == Some("manifest")
        && c.get("status").and_then(|v| v.as_str()) == Some("PASSED")));
    for c in &checks {
        for key in ["check", "engines", "status", "max_abs", "max_ulp", "bound", "flips", "classification", "detail"] {
            assert!(c.get(key).is_some(), "check key {key}");
        }
    }
    let x = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("{e}"));
    assert!(x.starts_with("<?xml") && x.contains("<testsuites") && x.contains("conv_s2_asympad_relu__mo_u8"));
}

/// `compress` and `expand` write IRs whose form `inspect` sees; the compressed weights take the
/// bytes the OpenVINO-written compressed twin's manifest gives (i8, one byte per element).
#[test]
fn compress_and_expand_round_trip_through_inspect() {
    let d = tmp("rewrite");
    let expanded = "corpus/conv_s2_asympad_relu__expanded/model.xml";
    let inspect = |path: &Path| -> serde_json::Value {
        let o = conform(&["inspect", "--json", &path.display().to_string()]);
        assert_exit(&o, 0, "inspect");
        serde_json::from_slice(&o.stdout).unwrap_or_default()
    };
    for (form, want) in [("dq", "compressed-dq"), ("fq", "compressed-fq")] {
        let out = d.join(format!("{form}.xml"));
        let o = conform(&["compress", expanded, &out.display().to_string(), "--form", form, "--json"]);
        assert_exit(&o, 0, "compress");
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        for key in ["tensors", "refused", "totals"] {
            assert!(report.get(key).is_some(), "compress --json key {key}");
        }
        let r = inspect(&out);
        assert_eq!(r["form"], want);
        // conv_s2_asympad_relu__compressed/manifest.json: weight_constant_bytes_by_element_type {"i8": 1152}.
        assert_eq!(r.pointer("/weights/by_element_type/i8").and_then(|v| v.as_u64()), Some(1152), "{form}");
        let back = d.join(format!("{form}_expanded.xml"));
        assert_exit(&conform(&["expand", &out.display().to_string(), &back.display().to_string()]), 0, "expand");
        assert_eq!(inspect(&back)["form"], "expanded");
    }
    let bad = d.join("bad.xml");
    std::fs::write(&bad, "<net").unwrap_or_else(|e| panic!("{e}"));
    assert_exit(
        &conform(&["compress", &bad.display().to_string(), &d.join("o.xml").display().to_string(), "--form", "dq"]),
        2,
        "compress of a malformed IR",
    );
}

/// An IR file as PATH: inputs come from `--seed`; the same seed gives the same report.
#[test]
fn check_an_ir_file_with_generated_inputs() {
    let d = tmp("irfile");
    let run = |seed: &str, out: &Path| {
        let o = conform(&[
            "check",
            "corpus/matmul_fc_relu__compressed/model.xml",
            "--engine",
            "reference",
            "--seed",
            seed,
            "--json",
            &out.display().to_string(),
        ]);
        assert!(matches!(o.status.code(), Some(0) | Some(1)), "{}", text(&o));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out).unwrap_or_default()).unwrap_or_default();
        r["cases"].clone()
    };
    let (a, b) = (run("7", &d.join("a.json")), run("7", &d.join("b.json")));
    assert_eq!(a, b, "same seed, same results");
    assert_eq!(a.pointer("/0/case").and_then(|v| v.as_str()), Some("model"));
    assert_eq!(a.pointer("/0/checks/0/check").and_then(|v| v.as_str()), Some("read"));
    assert_eq!(a.pointer("/0/checks/0/status").and_then(|v| v.as_str()), Some("PASSED"));
}

/// `--max-memory` refuses before allocating: `infer` exits 2 naming the limit; in `check` the
/// runs that would exceed it are SKIPPED with the reason.
#[test]
fn max_memory_refuses_before_running() {
    let d = tmp("maxmem");
    let o = conform(&[
        "infer",
        &format!("{CASE}/model.xml"),
        "--input",
        &format!("{CASE}/input_0.npy"),
        "--out",
        &d.display().to_string(),
        "--max-memory",
        "64",
    ]);
    assert_exit(&o, 2, "infer --max-memory 64");
    assert!(String::from_utf8_lossy(&o.stderr).contains("memory limit"), "{}", text(&o));
    let o = conform(&["check", CASE, "--engine", "reference", "--max-memory", "64"]);
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().any(|l| l.contains("fp32-vs-fallback") && l.contains("SKIPPED")), "{out}");
}

/// A case that does not finish within `--case-timeout` is a FAILED check classified `timeout`
/// (exit 1), and the run goes on.
#[test]
fn case_timeout_is_a_failed_check() {
    let o = conform(&["check", "corpus/ppocrv4_det__compressed", "--engine", "reference", "--case-timeout", "0.001"]);
    assert_exit(&o, 1, "case timeout");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().any(|l| l.contains("FAILED") && l.contains("timeout")), "{out}");
    assert_exit(&conform(&["check", CASE, "--case-timeout", "-1"]), 2, "negative timeout");
    assert_exit(&conform(&["check", CASE, "--case-timeout", "1e300"]), 2, "timeout beyond a Duration");
}

/// `bench` on one small workload of the repository's file: the CONTRACT.md JSON keys, and exit 2
/// on a workloads file that is not one.
#[test]
fn bench_reports_the_contract_keys() {
    let d = tmp("bench");
    let all: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/shapes.json"))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_default();
    let mut small = all.clone();
    let fc: Vec<serde_json::Value> =
        all["workloads"].as_array().into_iter().flatten().filter(|w| w["id"] == "fc_1x1024_n1000").cloned().collect();
    assert_eq!(fc.len(), 1, "bench/shapes.json has fc_1x1024_n1000");
    small["workloads"] = serde_json::Value::Array(fc);
    let file = d.join("w.json");
    std::fs::write(&file, small.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let o = conform(&["bench", "--workloads", &file.display().to_string(), "--reps", "2", "--json", "-"]);
    assert_exit(&o, 0, "bench");
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert!(r.get("machine").is_some());
    let w = &r["workloads"][0];
    for key in [
        "id",
        "threads",
        "isa",
        "median_us",
        "min_us",
        "max_us",
        "runs",
        "gops",
        "percent_of_peak",
        "reference_median_us",
    ] {
        assert!(w.get(key).is_some(), "bench --json key {key}: {r}");
    }
    assert_eq!(w["threads"], 1, "--threads defaults to 1");
    assert_eq!(w["runs"], 2);
    let bad = d.join("bad.json");
    std::fs::write(&bad, "[1, 2").unwrap_or_else(|e| panic!("{e}"));
    assert_exit(&conform(&["bench", "--workloads", &bad.display().to_string()]), 2, "bad workloads");
}

/// `CONFORM_MAX_ISA=scalar` leaves only the scalar variant; `CONFORM_REQUIRE_ISA` naming a variant
/// the cap removes turns that skipped variant into an environment error (exit 2).
#[test]
fn isa_cap_and_required_variants() {
    let run = |envs: &[(&str, &str)], args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_conform"));
        c.args(args).current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap_or_else(|e| panic!("{e}"))
    };
    let o = run(&[("CONFORM_MAX_ISA", "scalar")], &["isa", "--json"]);
    assert_exit(&o, 0, "isa");
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(r["detected"], serde_json::json!(["scalar"]));
    assert_eq!(r["chosen"], "scalar");
    let o = run(&[("CONFORM_MAX_ISA", "scalar"), ("CONFORM_REQUIRE_ISA", "avx2")], &["check", CASE]);
    assert_exit(&o, 2, "required ISA above the cap");
    assert!(String::from_utf8_lossy(&o.stderr).contains("avx2"));
    let o = run(&[("CONFORM_MAX_ISA", "scalar"), ("CONFORM_REQUIRE_ISA", "scalar")], &["check", CASE]);
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("optimized:scalar"));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("optimized:avx2"));
}
