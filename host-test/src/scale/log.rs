//! Structured logs: one `key=value` line per event of note on standard error,
//! starting with the UTC time, the level and the event name.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes `ts=… level=… event=… key=value…`; values with spaces, quotes or `=` are
/// quoted JSON-style.
pub fn line(level: &str, event: &str, fields: &[(&str, String)]) {
    let mut out = format!("ts={} level={level} event={event}", now_iso());
    for (key, value) in fields {
        let _ = write!(out, " {key}={}", quote(value));
    }
    eprintln!("{out}");
}

pub fn info(event: &str, fields: &[(&str, String)]) {
    line("info", event, fields);
}

pub fn warn(event: &str, fields: &[(&str, String)]) {
    line("warn", event, fields);
}

fn quote(value: &str) -> String {
    if !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || c.is_control())
    {
        return value.to_owned();
    }
    serde_json::to_string(value).unwrap_or_else(|_| "\"?\"".into())
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_iso() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let millis = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
    crate::generate::iso8601(millis)
}
