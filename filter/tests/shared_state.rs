//! Several module instances on one state directory (two `[FILTER]` sections with
//! the same `Accessible_Paths`, or a restart that overlaps the old process): none
//! loses the others' journal entries, through compaction too, and none repeats an
//! alert another has already raised.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use vpnrecon_filter::config::{Config, Loaded, Source};
use vpnrecon_filter::state::{State, StateConfig, JOURNAL_FILE_NAME};
use vpnrecon_filter::{Engine, Mode, RecordTime, Verdict};

/// 2026-06-01T00:00:00Z.
const T0: i64 = 1_780_272_000;
const DAY: i64 = 86_400;
/// In AS9009 (M247 Europe SRL), one of the default VPN ASNs.
const VPN_IP: &str = "2.56.16.10";

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("vpnrecon-shared-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }
    fn journal_len(&self) -> u64 {
        std::fs::metadata(self.0.join(JOURNAL_FILE_NAME))
            .unwrap()
            .len()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every advance journalled, so a few thousand events of one key fill the journal
/// past its compaction threshold (twice the live keys plus 4096 entries).
fn exact() -> StateConfig {
    StateConfig {
        journal_resolution_secs: 0,
        ..StateConfig::default()
    }
}

fn quiet(dir: &Path) -> State {
    State::open_with_sink(exact(), dir, Box::new(|_: &str| {}))
}

#[test]
fn two_states_on_one_directory_keep_every_entry_through_compaction() {
    let dir = Scratch::new("states");
    let mut a = quiet(&dir.0);
    let mut b = quiet(&dir.0);
    let key = |s: &State, name: &str| s.hasher().key(&[name.as_bytes()]);
    let (busy, early, late, shared) = (
        key(&a, "busy"),
        key(&a, "early"),
        key(&a, "late"),
        key(&a, "shared"),
    );
    assert_eq!(key(&b, "busy"), busy, "both key with the journal's secret");

    // B records a key before A compacts, A raises one seen by both.
    assert!(b.observe_identity(early, T0).is_new());
    assert!(a.observe_identity(shared, T0).is_new());
    assert!(
        !b.observe_identity(shared, T0 + 1).is_new(),
        "B knows what A journalled: no second alert"
    );

    // A alone advances one key 6000 times: the journal passes its threshold and A
    // compacts it (the file shrinks).
    let mut t = T0 + 10;
    let (mut last, mut shrank) = (dir.journal_len(), false);
    for _ in 0..6000 {
        t += 1;
        a.observe_identity(busy, t);
        let len = dir.journal_len();
        shrank |= len < last;
        last = len;
    }
    assert!(shrank, "the journal was compacted");

    // B, which has not looked at the journal since, records another key, and a
    // workload hour.
    assert!(b.observe_identity(late, t).is_new());
    let hour = t / 3600;
    assert!(b.observe_workload(busy, hour));

    // A fresh instance knows every key both wrote: before and after compaction.
    let mut c = quiet(&dir.0);
    for (name, k) in [
        ("early", early),
        ("late", late),
        ("shared", shared),
        ("busy", busy),
    ] {
        assert!(
            !c.observe_identity(k, t + DAY).is_new(),
            "{name} survived in the journal"
        );
    }
    assert!(!c.observe_workload(busy, hour), "workload hour survived");
    // And A, still running, learns B's late key without restarting.
    assert!(!a.observe_identity(late, t + 1).is_new());
}

fn engine_on(dir: &Path) -> Engine {
    let config = Config {
        journal_resolution_secs: 0,
        state_dir: dir.to_str().unwrap().to_owned(),
        ..Config::default()
    };
    let state = State::open_configured(&config);
    let loaded = Loaded {
        config,
        source: Source::Defaults,
        error: None,
    };
    Engine::from_parts(loaded, state)
}

fn iam_user(name: &str, t: i64) -> String {
    let time = vpnrecon_filter::output::format_time(t);
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA{name}","arn":"arn:aws:iam::111122223333:user/{name}","accountId":"111122223333","userName":"{name}"}},"eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"{VPN_IP}","userAgent":"aws-cli/2.15.0","recipientAccountId":"111122223333"}}"#
    )
}

fn fires(engine: &mut Engine, record: &str) -> bool {
    let mut out = Vec::new();
    let verdict = engine.process(
        record.as_bytes(),
        RecordTime::default(),
        Mode::Alerts,
        &mut out,
    );
    verdict == Verdict::Rewritten
}

#[test]
fn two_engines_on_one_directory_alert_once_per_key_and_lose_nothing() {
    let dir = Scratch::new("engines");
    let mut first = engine_on(&dir.0);
    let mut second = engine_on(&dir.0);

    assert!(fires(&mut first, &iam_user("alice", T0)));
    assert!(
        !fires(&mut second, &iam_user("alice", T0 + 60)),
        "the second instance does not repeat the first one's alert"
    );
    assert!(fires(&mut second, &iam_user("bob", T0 + 120)));

    // The first instance's traffic compacts the journal …
    let mut t = T0 + 200;
    for _ in 0..6000 {
        t += 1;
        assert!(!fires(&mut first, &iam_user("alice", t)));
    }
    // … while the second one keeps writing to it.
    assert!(fires(&mut second, &iam_user("carol", t + 1)));
    assert!(!fires(&mut first, &iam_user("carol", t + 2)));

    // After both stop, a new instance (a restart) repeats none of the three alerts.
    drop(first);
    drop(second);
    let mut restarted = engine_on(&dir.0);
    for name in ["alice", "bob", "carol"] {
        assert!(
            !fires(&mut restarted, &iam_user(name, t + DAY)),
            "{name} was not lost"
        );
    }
    // A new identity still fires.
    assert!(fires(&mut restarted, &iam_user("dave", t + DAY)));
}

/// File names in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn compaction_leaves_only_the_journal_behind() {
    let dir = Scratch::new("leftovers");
    let mut a = quiet(&dir.0);
    let mut b = quiet(&dir.0);
    let k = a.hasher().key(&[b"k"]);
    for i in 0..6000 {
        let s = if i % 2 == 0 { &mut a } else { &mut b };
        s.observe_identity(k, T0 + i);
    }
    assert_eq!(files(&dir.0), vec![JOURNAL_FILE_NAME.to_owned()]);
    // Both took turns writing one key: it is known to a new instance at its last time.
    let mut c = quiet(&dir.0);
    assert!(!c.observe_identity(k, T0 + 5999 + 10 * DAY).is_new());
}

#[test]
fn a_compaction_lock_left_behind_is_taken_over_once_the_journal_has_grown_past_it() {
    let dir = Scratch::new("stale-lock");
    let lock = dir.0.join(format!("{JOURNAL_FILE_NAME}.lock"));
    let mut a = quiet(&dir.0);
    // As if an instance had stopped in the middle of a compaction.
    std::fs::write(&lock, b"").unwrap();
    let busy = a.hasher().key(&[b"busy"]);
    let mut largest = 0;
    let mut shrank_at = None;
    for i in 0..12_000 {
        a.observe_identity(busy, T0 + i);
        let len = dir.journal_len();
        if len < largest && shrank_at.is_none() {
            shrank_at = Some(largest);
        }
        largest = largest.max(len);
    }
    // One live key: the threshold is 2 + 4096 entries. The lock is first seen past
    // it, and taken over after as many entries again.
    let entries = |bytes: u64| (bytes - 32) / 24;
    let shrank_at = entries(shrank_at.expect("compacted in the end"));
    assert!(
        shrank_at > 2 * 4098,
        "lock respected until {shrank_at} entries"
    );
    assert!(!lock.exists(), "lock released");
}

#[test]
fn a_snapshot_carries_the_whole_state() {
    let mut a = State::in_memory(StateConfig::default());
    let (k, w) = (a.hasher().key(&[b"k"]), a.hasher().key(&[b"w"]));
    assert!(a.observe_identity(k, T0).is_new());
    assert!(a.observe_workload(w, T0 / 3600));
    let bytes = a.snapshot();
    // A 32-byte header and one 24-byte entry per live key.
    assert_eq!(bytes.len(), 32 + 2 * 24);
    let mut b = State::from_snapshot(StateConfig::default(), &bytes).expect("a snapshot");
    assert_eq!(b.hasher().key(&[b"k"]), k, "same key secret");
    assert!(!b.observe_identity(k, T0 + 1).is_new());
    assert!(!b.observe_workload(w, T0 / 3600));
    assert!(b.observe_identity(k, T0 + 1 + 10 * DAY + 1).is_new());
    assert!(State::from_snapshot(StateConfig::default(), &bytes[..20]).is_none());
}
