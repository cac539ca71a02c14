//! State behaviour across restarts, damage and compaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::journal::{ENTRY_LEN, HEADER_LEN};
use super::*;

const DAY: i64 = 86_400;
const T0: i64 = 1_700_000_000;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("vpnrecon-state-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
    fn journal(&self) -> PathBuf {
        self.0.join(JOURNAL_FILE_NAME)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

type Lines = Arc<Mutex<Vec<String>>>;

fn open(dir: &TempDir, config: StateConfig) -> (State, Lines) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let state = State::open_with_sink(
        config,
        &dir.0,
        Box::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
    );
    (state, lines)
}

fn exact() -> StateConfig {
    StateConfig {
        journal_resolution_secs: 0,
        ..StateConfig::default()
    }
}

/// A fixed script of candidates: several keys, repeats inside and outside the
/// window, a late arrival, and rule B hours.
fn script(state: &mut State) -> Vec<bool> {
    let a = state.hasher().key(&[b"111122223333", b"alice", b"9009"]);
    let b = state.hasher().key(&[b"111122223333", b"bob", b"9009"]);
    let w = state
        .hasher()
        .key(&[b"arn:aws:sts::1:assumed-role/x/i-0abc", b"9009"]);
    vec![
        state.observe_identity(a, T0).is_new(),
        state.observe_identity(b, T0 + 60).is_new(),
        state.observe_identity(a, T0 + 3 * DAY).is_new(),
        state.observe_identity(a, T0 + 3 * DAY - 600).is_new(),
        state.observe_identity(b, T0 + 11 * DAY).is_new(),
        state.observe_workload(w, (T0 + 3 * DAY) / 3600),
        state.observe_workload(w, (T0 + 3 * DAY) / 3600),
    ]
}

#[test]
fn restart_gives_the_same_decisions() {
    let dir = TempDir::new("restart");
    let (mut first, lines) = open(&dir, exact());
    assert!(first.stats().persistent);
    let decisions = script(&mut first);
    // Hand-derived: a new, b new, a within window, a late, b after 11 days new,
    // workload hour first, then duplicate.
    assert_eq!(decisions, vec![true, true, false, false, true, true, false]);
    let hasher = *first.hasher();
    drop(first);

    let (mut second, _) = open(&dir, exact());
    assert_eq!(*second.hasher(), hasher, "secret survives the restart");
    assert_eq!(second.stats().identity_keys, 2);
    assert_eq!(second.stats().workload_keys, 1);
    // Replaying the same events after a restart raises nothing.
    assert_eq!(script(&mut second), vec![false; 7]);
    assert!(lines.lock().unwrap().is_empty());
}

#[test]
fn resolution_loses_at_most_that_much_and_only_adds_alerts() {
    let dir = TempDir::new("resolution");
    let config = StateConfig::default(); // one hour
    let (mut first, _) = open(&dir, config);
    let key = first.hasher().key(&[b"k"]);
    assert!(first.observe_identity(key, T0).is_new());
    // Within the same hour interval: not journalled.
    let t1 = T0 - T0.rem_euclid(3600) + 3599;
    first.observe_identity(key, t1);
    drop(first);
    let (mut second, _) = open(&dir, config);
    // The restarted state only knows T0: t1 + window is more than the window after
    // T0, so it alerts once more (the documented extra alert).
    let at = t1 + 10 * DAY;
    assert!(at - T0 > 10 * DAY);
    assert!(second.observe_identity(key, at).is_new());

    // Whereas with resolution 0 the advance is journalled and nothing repeats.
    let dir = TempDir::new("resolution0");
    let (mut first, _) = open(&dir, exact());
    let key = first.hasher().key(&[b"k"]);
    first.observe_identity(key, T0);
    first.observe_identity(key, t1);
    drop(first);
    let (mut second, _) = open(&dir, exact());
    assert!(!second.observe_identity(key, t1 + 10 * DAY).is_new());
}

fn journal_with_keys(dir: &TempDir, n: u64) -> Vec<u64> {
    let (mut state, _) = open(dir, exact());
    let keys: Vec<u64> = (0..n)
        .map(|i| state.hasher().key(&[&i.to_le_bytes()]))
        .collect();
    for (i, key) in keys.iter().enumerate() {
        assert!(state.observe_identity(*key, T0 + i as i64).is_new());
    }
    keys
}

#[test]
fn truncated_tail_keeps_valid_entries_with_one_warning() {
    let dir = TempDir::new("truncated");
    let keys = journal_with_keys(&dir, 5);
    let bytes = fs::read(dir.journal()).unwrap();
    assert_eq!(bytes.len(), HEADER_LEN + 5 * ENTRY_LEN);
    // Cut the last entry in the middle of its write.
    let cut = bytes.len() - ENTRY_LEN / 2;
    fs::write(dir.journal(), &bytes[..cut]).unwrap();

    let (mut state, lines) = open(&dir, exact());
    let stats = state.stats();
    assert_eq!(stats.journal_entries_loaded, 4);
    assert_eq!(stats.journal_corrupt_bytes, (ENTRY_LEN / 2) as u64);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let expected_start = HEADER_LEN + 4 * ENTRY_LEN;
    assert!(lines[0].starts_with("vpnrecon: journal "), "{}", lines[0]);
    assert!(
        lines[0].ends_with(&format!(
            "skipped 12 corrupt bytes at offsets {expected_start}..{cut}, kept 4 entries"
        )),
        "{}",
        lines[0]
    );
    for key in &keys[..4] {
        assert!(!state.observe_identity(*key, T0 + 100).is_new());
    }
    // The lost entry's key is new again.
    assert!(state.observe_identity(keys[4], T0 + 100).is_new());
    drop(state);
    // The damage was rewritten away: no second warning.
    let (_, lines) = open(&dir, exact());
    assert!(lines.lock().unwrap().is_empty());
}

#[test]
fn garbage_in_the_middle_is_skipped_and_reading_resynchronises() {
    let dir = TempDir::new("garbage");
    let keys = journal_with_keys(&dir, 6);
    let bytes = fs::read(dir.journal()).unwrap();
    let mut damaged = bytes[..HEADER_LEN + 2 * ENTRY_LEN].to_vec();
    let garbage_at = damaged.len();
    // Seven bytes of noise, including the entry magic byte, then one entry's bytes
    // overwritten in its middle.
    damaged.extend_from_slice(&[0xA7, 0x41, 0, 0, 9, 9, 9]);
    let mut third = bytes[HEADER_LEN + 2 * ENTRY_LEN..HEADER_LEN + 3 * ENTRY_LEN].to_vec();
    third[10] ^= 0xFF;
    damaged.extend_from_slice(&third);
    damaged.extend_from_slice(&bytes[HEADER_LEN + 3 * ENTRY_LEN..]);
    fs::write(dir.journal(), &damaged).unwrap();

    let (mut state, lines) = open(&dir, exact());
    let stats = state.stats();
    assert_eq!(stats.journal_entries_loaded, 5);
    assert_eq!(stats.journal_corrupt_bytes, (7 + ENTRY_LEN) as u64);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!(
            "skipped 31 corrupt bytes at offsets {garbage_at}..{}, kept 5 entries",
            garbage_at + 7 + ENTRY_LEN
        )),
        "{}",
        lines[0]
    );
    for (i, key) in keys.iter().enumerate() {
        let new = state.observe_identity(*key, T0 + 100).is_new();
        assert_eq!(new, i == 2, "key {i}");
    }
}

#[test]
fn damaged_header_starts_a_new_journal_and_keeps_the_old_aside() {
    let dir = TempDir::new("header");
    journal_with_keys(&dir, 3);
    let mut bytes = fs::read(dir.journal()).unwrap();
    bytes[3] ^= 1;
    fs::write(dir.journal(), &bytes).unwrap();
    let (state, lines) = open(&dir, exact());
    assert!(state.stats().persistent);
    assert_eq!(state.stats().identity_keys, 0);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("header missing or damaged"),
        "{}",
        lines[0]
    );
    assert!(dir.0.join("vpnrecon.journal.bad").exists());
}

#[test]
fn compaction_keeps_decisions_identical() {
    let dir = TempDir::new("compact");
    let (mut state, _) = open(&dir, exact());
    let keys: Vec<u64> = (0..10u64)
        .map(|i| state.hasher().key(&[&i.to_le_bytes()]))
        .collect();
    // Many advances of few keys: the file grows past 2 × live + slack.
    let mut t = T0;
    for _ in 0..500 {
        for key in &keys {
            t += 1;
            state.observe_identity(*key, t);
        }
    }
    let entries = (fs::metadata(dir.journal()).unwrap().len() as usize - HEADER_LEN) / ENTRY_LEN;
    assert!(
        entries < 10 + 4096 + 2 * 10 + 1,
        "journal was compacted: {entries} entries"
    );
    // Key j was last seen at t - 9 + j. Probe each exactly one window later, and
    // key 0 one second beyond: only key 0 is new.
    let probes: Vec<(u64, i64)> = keys
        .iter()
        .enumerate()
        .map(|(j, k)| (*k, t - 9 + j as i64 + 10 * DAY + i64::from(j == 0)))
        .collect();
    let mut expected = vec![false; 10];
    expected[0] = true;
    // The restart reads a copy of the journal: instances sharing one directory
    // see each other's entries, and this compares the two.
    let copy = TempDir::new("compact-copy");
    fs::copy(dir.journal(), copy.journal()).unwrap();
    let mut reopened = open(&copy, exact()).0;
    let after: Vec<bool> = probes
        .iter()
        .map(|(k, at)| reopened.observe_identity(*k, *at).is_new())
        .collect();
    let live: Vec<bool> = probes
        .iter()
        .map(|(k, at)| state.observe_identity(*k, *at).is_new())
        .collect();
    assert_eq!(live, expected);
    assert_eq!(after, expected);
}

#[test]
fn missing_directory_means_memory_only_with_one_warning() {
    let dir = TempDir::new("missing");
    let missing = dir.0.join("does-not-exist");
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let mut state = State::open_with_sink(
        exact(),
        &missing,
        Box::new(move |l: &str| sink.lock().unwrap().push(l.to_owned())),
    );
    let stats = state.stats();
    assert!(!stats.persistent);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("is not writable") && lines[0].contains("memory only"),
        "{}",
        lines[0]
    );
    // Still detects.
    let key = state.hasher().key(&[b"x"]);
    assert!(state.observe_identity(key, T0).is_new());
    assert!(!state.observe_identity(key, T0 + 1).is_new());
    assert!(!missing.exists());
}

#[test]
fn state_dir_that_is_a_file_means_memory_only() {
    let dir = TempDir::new("file");
    let file = dir.0.join("plain-file");
    fs::write(&file, b"not a directory").unwrap();
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let state = State::open_with_sink(
        exact(),
        &file,
        Box::new(move |l: &str| sink.lock().unwrap().push(l.to_owned())),
    );
    assert!(!state.stats().persistent);
    assert_eq!(lines.lock().unwrap().len(), 1);
}

#[test]
fn eviction_is_counted_and_bytes_per_key_stay_small() {
    let config = StateConfig {
        max_keys: 10_000,
        ..StateConfig::default()
    };
    let mut state = State::in_memory(config);
    for i in 0..20_000i64 {
        let key = state.hasher().key(&[&i.to_le_bytes()]);
        state.observe_identity(key, T0 + i);
    }
    let stats = state.stats();
    assert!(stats.identity_keys <= 10_000);
    assert_eq!(stats.evicted as usize + stats.identity_keys, 20_000);
    assert!(
        stats.bytes_per_key_estimate <= 32,
        "{} bytes per key",
        stats.bytes_per_key_estimate
    );
}
