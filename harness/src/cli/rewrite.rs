//! `conform compress IN.xml OUT.xml --form fq|dq [--bits auto|8|4] [--json]` and
//! `conform expand IN.xml OUT.xml [--json]`: rewrite the weight subgraphs between the forms with
//! `reference::compress`, write the result with the IR writer, and report which elements are not
//! bit-identical and the bytes (CONTRACT.md keys `tensors`, `refused`, `totals`).

use super::args::{CompressArgs, ExpandArgs, FormArg};
use super::Verdict;
use crate::error::CliError;
use crate::load;
use reference::compress::{self, Bits, CompressError, CompressOptions, Form, Report};
use std::path::Path;

fn rewrite_error(path: &Path, e: CompressError) -> CliError {
    match e {
        CompressError::Ir(e) => CliError::Ir(e),
        other => CliError::BadFile { path: path.to_path_buf(), message: other.to_string() },
    }
}

fn finish(output: &Path, model: &conform_ir::Model, report: &Report, json: bool) -> Result<Verdict, CliError> {
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
    }
    conform_ir::write_model(model, output)?;
    if json {
        println!("{}", serde_json::to_string_pretty(report).map_err(|e| CliError::Usage(e.to_string()))?);
    } else {
        print!("{report}");
        println!("wrote {}", output.display());
    }
    Ok(Verdict::Ok)
}

/// Runs `compress`.
pub fn compress(a: &CompressArgs) -> Result<Verdict, CliError> {
    let bits: Bits = a.bits.parse().map_err(CliError::Usage)?;
    let form = match a.form {
        FormArg::Fq => Form::Fq,
        FormArg::Dq => Form::Dq,
    };
    let model = load::model(&a.input)?;
    let (out, report) =
        compress::compress(&model, &CompressOptions { form, bits }).map_err(|e| rewrite_error(&a.input, e))?;
    finish(&a.output, &out, &report, a.json)
}

/// Runs `expand`.
pub fn expand(a: &ExpandArgs) -> Result<Verdict, CliError> {
    let model = load::model(&a.input)?;
    let (out, report) = compress::expand(&model).map_err(|e| rewrite_error(&a.input, e))?;
    finish(&a.output, &out, &report, a.json)
}
