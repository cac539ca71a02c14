//! Two module instances on one pre-opened directory (two `[FILTER]` sections with
//! the same `Accessible_Paths`, or a restart that overlaps the old process), in
//! wasmtime and in WAMR at Fluent Bit's default sizes: neither repeats an alert the
//! other raised, and after one of them has compacted the shared journal while the
//! other kept writing to it, a new instance knows every identity both saw.

mod hardening_common;

use std::path::Path;

use hardening_common::*;
use vpnrecon_host::{Backend, CallOutcome, FilterHost, Mode};

/// 2026-06-01T00:00:00Z.
const T0: i64 = 1_780_272_000;
const DAY: i64 = 86_400;

fn fires(host: &mut dyn FilterHost, user: &str, t: i64) -> bool {
    let time = vpnrecon_filter::output::format_time(t);
    let record = discovery_event(user, VPN_IP, &time);
    let mut out = Vec::new();
    match call(host, record.as_bytes(), &mut out) {
        Ok(CallOutcome::Kept) => true,
        Ok(CallOutcome::Dropped) => false,
        Err(e) => panic!("{}: {user} at {time}: {e}", host.backend()),
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("listable")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn two_instances_share_one_journal(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    // Every advance journalled: 4,500 events of one identity fill the journal past
    // its compaction threshold (twice the live keys plus 4,096 entries).
    std::fs::write(dir.path().join("vpnrecon.toml"), "journal_resolution = 0\n")
        .expect("config written");
    let mut first = host(backend, Mode::Alerts, Some(dir.path()));
    let mut second = host(backend, Mode::Alerts, Some(dir.path()));

    assert!(fires(first.as_mut(), "alice", T0));
    assert!(
        !fires(second.as_mut(), "alice", T0 + 60),
        "{backend}: the second instance repeated the first one's alert"
    );
    assert!(fires(second.as_mut(), "bob", T0 + 120));

    let journal = dir.path().join("vpnrecon.journal");
    let size = || std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0);
    let (mut last, mut shrank) = (size(), false);
    let mut t = T0 + 200;
    for _ in 0..4500 {
        t += 1;
        assert!(!fires(first.as_mut(), "alice", t));
        let now = size();
        shrank |= now < last;
        last = now;
    }
    assert!(
        shrank,
        "{backend}: the first instance compacted the journal"
    );
    assert!(fires(second.as_mut(), "carol", t + 1));
    assert!(
        !fires(first.as_mut(), "carol", t + 2),
        "{backend}: the first instance read what the second wrote after the compaction"
    );
    drop(first);
    drop(second);

    let mut restarted = host(backend, Mode::Alerts, Some(dir.path()));
    for user in ["alice", "bob", "carol"] {
        assert!(
            !fires(restarted.as_mut(), user, t + DAY),
            "{backend}: {user} was lost from the journal"
        );
    }
    assert!(fires(restarted.as_mut(), "dave", t + DAY));
    assert_eq!(
        files(dir.path()),
        vec!["vpnrecon.journal".to_owned(), "vpnrecon.toml".to_owned()],
        "{backend}: no lock or temporary file left behind"
    );
}

#[test]
fn two_instances_on_one_directory_share_the_journal_safely() {
    let backends = backends();
    assert!(!backends.is_empty(), "no wasm backend built in");
    for backend in backends {
        two_instances_share_one_journal(backend);
    }
}
