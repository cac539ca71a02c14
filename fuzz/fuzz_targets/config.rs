//! `config::parse` on arbitrary text: never panics; a located error points inside
//! the text, and TOML syntax errors are located.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpnrecon_filter::config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Err(error) = config::parse(text, "vpnrecon.toml") else {
        return;
    };
    let lines = text.split('\n').count();
    if let Some(line) = error.line {
        assert!(
            (1..=lines).contains(&line),
            "error line {line} outside the text's {lines} lines: {error:?}"
        );
    }
    if error.message.starts_with("not valid TOML") {
        assert!(
            error.line.is_some(),
            "syntax error without a line: {error:?}"
        );
    }
    assert!(!error.describe().is_empty());
    let shown = error.to_string();
    assert!(
        shown.contains("vpnrecon.toml"),
        "message does not name the file: {shown}"
    );
});
