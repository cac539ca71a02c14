//! The real filter module (embedded by the build script) on every host: native,
//! wasmtime and WAMR at Fluent Bit's default 8 KiB stack and heap must agree byte for
//! byte, lose nothing, and give the same alerts with one instance or one per record.
#![cfg(all(feature = "embedded", feature = "native"))]

use std::fs;
use std::path::{Path, PathBuf};
use vpnrecon_host::{replay, Backend, HostOptions, Mode, ReplayOptions};

/// A discovery call from 146.70.117.42 (an M247 address, AS9009, on the VPN list),
/// the same identity again a day later (not new), a benign call, a record with no
/// eventTime, and a record nested 3000 levels deep (Fluent Bit's WAMR stack is
/// 8 KiB: anything recursive on depth would trap on it).
fn fixture(dir: &Path) -> PathBuf {
    let event = |time: &str, name: &str, ip: &str| {
        format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"bob"}},"eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"aws-cli/2.17.20","requestParameters":null,"responseElements":null,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
        )
    };
    let deep = format!(
        "{{\"eventName\":\"ListUsers\",\"x\":{}1{}}}",
        "[".repeat(3000),
        "]".repeat(3000)
    );
    let lines = [
        event("2026-05-01T10:00:00Z", "ListUsers", "146.70.117.42"),
        event("2026-05-02T10:00:00Z", "ListRoles", "146.70.117.42"),
        event("2026-05-02T11:00:00Z", "GetObject", "198.51.100.7"),
        r#"{"eventSource":"iam.amazonaws.com","eventName":"ListUsers","sourceIPAddress":"146.70.117.42","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/carol","accountId":"111122223333","userName":"carol"}}"#.to_string(),
        deep,
        "not json".to_string(),
    ];
    let path = dir.join("mix.ndjson");
    fs::write(&path, lines.join("\n") + "\n").expect("write fixture");
    path
}

fn run(backend: Backend, mode: Mode, every: Option<u64>, input: &Path) -> (String, u64) {
    let state = tempfile::tempdir().expect("state dir");
    let mut host = HostOptions::new(mode);
    host.dir = Some(state.path().to_path_buf());
    host.reinstantiate_every = every;
    host.capture_stderr = true;
    let mut opts = ReplayOptions::new(backend, host);
    opts.progress = false;
    let mut out = Vec::new();
    let report = replay(&[input.to_path_buf()], &opts, &mut out).expect("replay");
    (
        String::from_utf8(out).expect("utf-8 output"),
        report.summary.lost,
    )
}

fn backends() -> Vec<Backend> {
    [Backend::Native, Backend::Wasmtime, Backend::Wamr]
        .into_iter()
        .filter(|b| b.available())
        .collect()
}

#[test]
fn all_hosts_give_identical_output_and_lose_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = fixture(dir.path());
    for mode in [Mode::Annotate, Mode::Alerts] {
        let (reference, lost) = run(Backend::Native, mode, None, &input);
        assert_eq!(lost, 0);
        for backend in backends() {
            let (output, lost) = run(backend, mode, None, &input);
            assert_eq!(lost, 0, "{backend} {mode:?} lost records");
            assert!(
                output == reference,
                "{backend} {mode:?} differs from native:\n{output}\nvs\n{reference}"
            );
        }
    }
}

#[test]
fn the_vpn_discovery_call_is_alerted_once_and_nothing_else_is() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = fixture(dir.path());
    let (alerts, _) = run(Backend::Wasmtime, Mode::Alerts, None, &input);
    let lines: Vec<&str> = alerts.lines().collect();
    // bob's first ListUsers (new key) and carol's call (new key, record time used);
    // bob's ListRoles a day later is the same key within 10 days.
    assert_eq!(lines.len(), 2, "{alerts}");
    assert!(lines[0].contains("\"eventTime\":\"2026-05-01T10:00:00Z\""));
    assert!(lines[0].contains("\"number\":9009"));
    assert!(lines[1].contains("user/carol"));
}

#[test]
fn one_instance_per_record_gives_the_same_alerts_as_one_instance() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = fixture(dir.path());
    for backend in backends() {
        let (single, _) = run(backend, Mode::Alerts, None, &input);
        let (fresh, lost) = run(backend, Mode::Alerts, Some(1), &input);
        assert_eq!(lost, 0);
        assert!(
            fresh == single,
            "{backend}: --reinstantiate-every 1 differs:\n{fresh}\nvs\n{single}"
        );
    }
}

#[test]
fn info_names_both_rules() {
    for backend in backends() {
        let mut host =
            vpnrecon_host::open(backend, &HostOptions::new(Mode::Annotate)).expect("open");
        let info = host.info().expect("info");
        for rule in [
            "vpnrecon-discovery-vpn-new-identity",
            "vpnrecon-discovery-vpn-workload",
        ] {
            assert!(info.contains(rule), "{backend}: {info}");
        }
    }
}

/// An invalid `vpnrecon.toml`: every backend names it as the module finds it (in its
/// pre-opened `.`), not by a path on the host, in `vpnrecon_info` and in the
/// `config_error` of each detection.
#[test]
fn every_backend_names_an_invalid_configuration_alike() {
    let input_dir = tempfile::tempdir().expect("input dir");
    let input = fixture(input_dir.path());
    let mut outputs = Vec::new();
    for backend in backends() {
        let state = tempfile::tempdir().expect("state dir");
        fs::write(state.path().join("vpnrecon.toml"), "add_asns = [16509\n").expect("write");
        let mut opts = HostOptions::new(Mode::Alerts);
        opts.dir = Some(state.path().to_path_buf());
        opts.capture_stderr = true;
        let mut host = vpnrecon_host::open(backend, &opts).expect("open");
        let info: serde_json::Value =
            serde_json::from_str(&host.info().expect("info")).expect("info is JSON");
        assert_eq!(
            info["config"]["source"], "vpnrecon.toml",
            "{backend}: {info}"
        );
        let error = info["config"]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("config error in vpnrecon.toml line 1"),
            "{backend}: {info}"
        );
        let mut replay_opts = ReplayOptions::new(backend, opts);
        replay_opts.progress = false;
        let mut out = Vec::new();
        replay(std::slice::from_ref(&input), &replay_opts, &mut out).expect("replay");
        let out = String::from_utf8(out).expect("utf-8");
        assert!(
            out.contains("config error in vpnrecon.toml line 1"),
            "{backend}: {out}"
        );
        assert!(
            !out.contains(&*state.path().to_string_lossy()),
            "{backend}: {out}"
        );
        outputs.push((backend, out));
    }
    for (backend, out) in &outputs[1..] {
        assert_eq!(out, &outputs[0].1, "{backend} and {}", outputs[0].0);
    }
}
