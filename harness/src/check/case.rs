//! Finding the cases a `check` PATH names: a corpus folder (every sub-folder with a `model.xml`),
//! one case folder, or an IR file (then the inputs are generated from the seed).

use crate::error::CliError;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One case to check.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case name (folder name, or file stem for an IR file).
    pub name: String,
    /// The model's `.xml`.
    pub model: PathBuf,
    /// The parsed `manifest.json`, when the case has one.
    pub manifest: Option<Value>,
    /// `input_K.npy` in order; empty for an IR file (generated inputs).
    pub inputs: Vec<PathBuf>,
    /// `fallback_f32_K.npy` in order (OpenVINO's reference outputs).
    pub fallback: Vec<PathBuf>,
    /// `cpu_K.npy` in order (OpenVINO's CPU plugin, f32 hint, one thread, as recorded).
    pub cpu: Vec<PathBuf>,
}

fn numbered(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for k in 0.. {
        let p = dir.join(format!("{prefix}{k}.npy"));
        if !p.is_file() {
            break;
        }
        out.push(p);
    }
    out
}

/// Reads one case folder.
pub fn case_from_dir(dir: &Path) -> Result<Case, CliError> {
    let model = dir.join("model.xml");
    let manifest_path = dir.join("manifest.json");
    let manifest = if manifest_path.is_file() {
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| CliError::io(&manifest_path, e))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| CliError::BadFile { path: manifest_path.clone(), message: format!("not JSON: {e}") })?;
        Some(v)
    } else {
        None
    };
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
    Ok(Case {
        name,
        model,
        manifest,
        inputs: numbered(dir, "input_"),
        fallback: numbered(dir, "fallback_f32_"),
        cpu: numbered(dir, "cpu_"),
    })
}

/// Expands the PATHs of `check` into cases, in a stable order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Case>, CliError> {
    let mut cases = Vec::new();
    for p in paths {
        if p.is_file() {
            let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            cases.push(Case { name, model: p.clone(), manifest: None, inputs: vec![], fallback: vec![], cpu: vec![] });
        } else if p.join("model.xml").is_file() {
            cases.push(case_from_dir(p)?);
        } else if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| CliError::io(p, e))?;
            let mut dirs: Vec<PathBuf> = Vec::new();
            for entry in rd {
                let entry = entry.map_err(|e| CliError::io(p, e))?;
                let d = entry.path();
                if d.join("model.xml").is_file() {
                    dirs.push(d);
                }
            }
            if dirs.is_empty() {
                return Err(CliError::BadFile {
                    path: p.clone(),
                    message: "no case folders (folders with a model.xml) here".into(),
                });
            }
            dirs.sort();
            for d in dirs {
                cases.push(case_from_dir(&d)?);
            }
        } else {
            return Err(CliError::BadFile { path: p.clone(), message: "no such file or folder".into() });
        }
    }
    Ok(cases)
}
