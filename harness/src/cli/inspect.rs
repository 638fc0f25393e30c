//! `conform inspect MODEL.xml [--json]`.

use super::args::InspectArgs;
use super::Verdict;
use crate::error::CliError;
use crate::{inspect, load};

/// Prints the inspection of one model as tables or as one JSON object.
pub fn run(a: &InspectArgs) -> Result<Verdict, CliError> {
    let model = load::model(&a.model)?;
    let report = inspect::inspect(&model)?;
    if a.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::Usage(format!("cannot serialize the report: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", inspect::render(&report));
    }
    Ok(Verdict::Ok)
}
