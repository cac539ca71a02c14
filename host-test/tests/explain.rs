//! `vpnrecon explain` against the hand-written `.expect` files (the verdict of every
//! fixture line, written from the contract), and proof that a state directory is read
//! but never written.

#![cfg(feature = "native")]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use vpnrecon_host::explain::explain_path;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// line number → expected rule id (or None) from an `.expect` file.
fn expected(path: &Path) -> BTreeMap<u64, Option<&'static str>> {
    let text = std::fs::read_to_string(path).expect("expect file");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut words = l.split_whitespace();
            let line: u64 = words.next().expect("line").parse().expect("number");
            let rule = match words.next() {
                Some("A") => Some("vpnrecon-discovery-vpn-new-identity"),
                Some("B") => Some("vpnrecon-discovery-vpn-workload"),
                _ => None,
            };
            (line, rule)
        })
        .collect()
}

#[test]
fn verdicts_match_the_hand_written_expectations() {
    let fixtures = repo().join("tests/fixtures");
    let mut cases = vec![fixtures.join("attack_chain.ndjson")];
    let mut clauses: Vec<PathBuf> = std::fs::read_dir(fixtures.join("clauses"))
        .expect("clauses")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    clauses.sort();
    cases.extend(clauses);
    let mut lines_checked = 0;
    let mut fired = 0;
    for case in cases {
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // 11: record time comes from the test harness's clock stamp; 22: an invalid
        // file, which explain refuses with the module's message.
        if name.starts_with("11-") || name.starts_with("22-") {
            continue;
        }
        let toml = case.with_extension("toml");
        let (config, file) = if toml.exists() {
            let active = vpnrecon_host::fluent_bit_config::load_active(Some(&toml), Path::new("."))
                .expect("fixture config loads");
            (active.config, active.file)
        } else {
            (vpnrecon_filter::config::Config::default(), None)
        };
        let scratch = tempfile::tempdir().expect("tempdir");
        let explained = explain_path(&case, config, file, None, scratch.path()).expect("explain");
        let want = expected(&case.with_extension("expect"));
        assert_eq!(
            explained.len(),
            want.len(),
            "{name}: one explanation per line"
        );
        for (e, (line, rule)) in explained.iter().zip(&want) {
            assert!(!e.inconsistent, "{name}:{line}: {}", e.text);
            assert_eq!(e.fired, *rule, "{name}:{line}: {}", e.text);
            assert_eq!(
                e.json["fires"].as_str(),
                *rule,
                "{name}:{line}: the JSON names the rule"
            );
            if rule.is_some() {
                fired += 1;
                assert!(e.text.contains(rule.unwrap_or_default()), "{name}:{line}");
            } else {
                assert!(e.json["verdict"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("no rule fires")));
            }
            lines_checked += 1;
        }
    }
    assert!(lines_checked > 100, "{lines_checked}");
    assert!(fired > 30, "{fired}");
}

fn vpnrecon(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vpnrecon"))
        .args(args)
        .output()
        .expect("run vpnrecon")
}

/// Every file of a directory with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let e = e.expect("entry");
            let meta = e.metadata().expect("meta");
            (
                e.file_name().to_string_lossy().into_owned(),
                (
                    std::fs::read(e.path()).expect("read"),
                    meta.modified().expect("mtime"),
                ),
            )
        })
        .collect()
}

#[test]
fn state_directory_is_read_but_never_written() {
    let chain = std::fs::read_to_string(repo().join("tests/fixtures/attack_chain.ndjson"))
        .expect("fixture");
    let lines: Vec<&str> = chain.lines().collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("first.ndjson");
    let second = dir.path().join("second.ndjson");
    std::fs::write(&first, format!("{}\n", lines[0])).expect("write");
    // Line 2: same key nine seconds later. Alone it fires; after line 1 it does not.
    std::fs::write(&second, format!("{}\n", lines[1])).expect("write");
    let state = dir.path().join("state");
    let out = vpnrecon(&[
        "replay",
        "--host",
        "native",
        "--state-dir",
        state.to_str().expect("utf-8"),
        first.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = snapshot(&state);
    assert!(!before.is_empty(), "replay left a journal");

    let explain = |with_state: bool| -> Value {
        let mut args = vec!["explain", "--json"];
        if with_state {
            args.extend(["--state-dir", state.to_str().expect("utf-8")]);
        }
        args.push(second.to_str().expect("utf-8"));
        let out = vpnrecon(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON line")
    };
    let fresh = explain(false);
    assert_eq!(fresh["fires"], "vpnrecon-discovery-vpn-new-identity");
    let with_history = explain(true);
    assert_eq!(with_history["fires"], Value::Null);
    assert_eq!(with_history["rule_a"]["last_seen"], "2026-06-01T12:03:11Z");
    assert_eq!(with_history["rule_a"]["gap_seconds"], 9);
    assert_eq!(with_history["rule_a"]["new"], false);

    // Twice, to be sure a second run still sees the untouched history.
    assert_eq!(explain(true)["fires"], Value::Null);
    assert_eq!(snapshot(&state), before, "the state directory changed");
}

#[test]
fn a_missing_state_directory_is_a_clear_error() {
    let out = vpnrecon(&[
        "explain",
        "--state-dir",
        "/nonexistent/vpnrecon-state",
        repo()
            .join("tests/fixtures/attack_chain.ndjson")
            .to_str()
            .expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/vpnrecon-state"), "{stderr}");
}
