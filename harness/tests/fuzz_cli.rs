//! `conform fuzz` on the command line: exit 0 on a clean budgeted run with the CONTRACT.md JSON
//! keys, exit 2 on a bad shard or an unknown variant.

use std::process::Command;

fn conform() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conform"))
}

#[test]
fn clean_run_exits_0_with_the_contract_json() {
    let dir = std::env::temp_dir().join(format!("conform-fuzz-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json = dir.join("fuzz.json");
    let st = conform()
        .args(["fuzz", "--cases", "60", "--seed", "3", "--shard", "1/2", "--out"])
        .arg(dir.join("regr"))
        .arg("--json")
        .arg(&json)
        .output()
        .expect("runs");
    assert_eq!(
        st.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&st.stdout),
        String::from_utf8_lossy(&st.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written")).expect("JSON");
    for key in [
        "schema_version",
        "tool_version",
        "machine",
        "engines",
        "cases_run",
        "cases_per_second",
        "categories",
        "findings",
    ] {
        assert!(v.get(key).is_some(), "fuzz JSON lacks {key}: {v}");
    }
    assert_eq!(v["cases_run"], 60);
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(0));
    assert!(String::from_utf8_lossy(&st.stderr).contains("regime:"), "the category tally is printed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        vec!["fuzz", "--cases", "1", "--shard", "2/2"],
        vec!["fuzz", "--cases", "1", "--isa", "mutant:nonesuch"],
        vec!["fuzz", "--cases", "1", "--isa", "sse9"],
    ] {
        let st = conform().args(&args).output().expect("runs");
        assert_eq!(st.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&st.stderr));
    }
}
