//! The adapter protocol's isolation: a crashing adapter and a hanging adapter each turn into a
//! failed call (a finding), and the next call starts a fresh process. The adapters here are tiny
//! Python scripts (no OpenVINO needed); without `python3` the test says so and passes.

use harness::adapter::{AdapterConfig, AdapterEngine};
use harness::engine::EngineError;
use std::process::Command;
use std::time::{Duration, Instant};

/// Answers `version`; on any other request, behaves as `mode` says.
const SCRIPT: &str = r#"
import json, sys, time
mode = sys.argv[1]
for line in sys.stdin:
    req = json.loads(line)
    if req.get("cmd") == "version":
        print(json.dumps({"id": req["id"], "ok": True, "version": "fake-1"}), flush=True)
    elif mode == "crash":
        sys.exit(7)
    elif mode == "hang":
        time.sleep(60)
    else:
        print(json.dumps({"id": req["id"], "ok": False, "error": "refused"}), flush=True)
"#;

fn engine(mode: &str, timeout: Duration) -> Option<AdapterEngine> {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED adapter_isolation: no python3");
        return None;
    }
    Some(AdapterEngine::new(AdapterConfig {
        name: format!("fake-{mode}"),
        program: "python3".into(),
        args: vec!["-c".into(), SCRIPT.into(), mode.into()],
        env: vec![],
        timeout,
    }))
}

fn run_request(e: &mut AdapterEngine) -> Result<serde_json::Value, EngineError> {
    e.call(serde_json::json!({"model": "m.xml", "inputs": [], "out": "o"}))
}

#[test]
fn a_crash_is_a_failed_call_and_the_adapter_restarts() {
    let Some(mut e) = engine("crash", Duration::from_secs(30)) else { return };
    assert_eq!(e.probe().ok().as_deref(), Some("fake-1"));
    match run_request(&mut e) {
        Err(EngineError::Failed(m)) => assert!(m.contains("crashed") && m.contains("exit status: 7"), "{m}"),
        other => panic!("expected a crash, got {other:?}"),
    }
    // A fresh process answers again.
    let v = e.call(serde_json::json!({"cmd": "version"}));
    assert!(matches!(&v, Ok(r) if r["ok"] == true), "{v:?}");
}

#[test]
fn a_hang_times_out_and_the_adapter_restarts() {
    let Some(mut e) = engine("hang", Duration::from_millis(1500)) else { return };
    let t0 = Instant::now();
    match run_request(&mut e) {
        Err(EngineError::Failed(m)) => assert!(m.contains("no reply within"), "{m}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(20), "the timeout did not bound the call");
    let v = e.call(serde_json::json!({"cmd": "version"}));
    assert!(matches!(&v, Ok(r) if r["ok"] == true), "{v:?}");
}

#[test]
fn an_error_reply_is_passed_on() {
    let Some(mut e) = engine("refuse", Duration::from_secs(30)) else { return };
    let r = run_request(&mut e).unwrap_or_else(|err| panic!("{err:?}"));
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"], "refused");
}
