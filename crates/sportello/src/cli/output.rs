//! `--json` on the list and show verbs: one JSON document on standard output (an array for a
//! list, an object for a show) instead of the lines written for people, which stay the default.
//! The members are named as in the API where the API has the same thing, times are RFC 3339 in
//! UTC, and no secret or hash is ever among them.

use anyhow::Result;
use clap::Args;
use serde_json::Value;

#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// Print one JSON document (an array for a list, an object for a show) instead of lines.
    #[arg(long)]
    pub json: bool,
}

pub fn print_json(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A stored time (seconds since the epoch) as RFC 3339; `null` for one out of range, which a
/// stored time never is.
pub fn time(secs: i64) -> Value {
    chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0)
        .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}
