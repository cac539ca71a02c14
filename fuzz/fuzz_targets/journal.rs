//! The state journal reader, through `State::open` on a temporary directory.
//!
//! The file is a real header (written by the state itself) followed by segments
//! the fuzzer chooses: valid entries, runs of valid entries (to cross the
//! reader's 64 KiB chunk boundary), garbage, and entries cut short. Garbage never
//! holds the entry magic byte, so every valid entry written is findable and the
//! loaded count must equal it exactly. With the first byte odd the whole file is
//! arbitrary bytes instead (header included): only "no panic" is checked then.
//! After a load that skipped damage the state rewrites the journal; opening it
//! again must find no damage and the same live keys.
#![no_main]

use std::fs;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vpnrecon_filter::state::{Entry, Kind, State, StateConfig, JOURNAL_FILE_NAME};

const ENTRY_MAGIC: u8 = 0xA7;
const ENTRY_LEN: usize = 24;
const HEADER_LEN: usize = 32;

fn quiet(config: StateConfig, dir: &Path) -> State {
    State::open_with_sink(config, dir, Box::new(|_| {}))
}

fn entry(bytes: &[u8]) -> Entry {
    let mut key = [0u8; 8];
    let mut time = [0u8; 8];
    for (i, b) in bytes.iter().enumerate().take(16) {
        if i < 8 {
            key[i] = *b;
        } else {
            time[i - 8] = *b;
        }
    }
    let kind = if bytes.first().is_some_and(|b| b & 1 == 1) {
        Kind::HourSeen
    } else {
        Kind::LastSeen
    };
    Entry {
        kind,
        key: u64::from_le_bytes(key),
        // Mostly plausible event times, sometimes anything.
        time: match bytes.get(16) {
            Some(b) if b & 3 == 0 => i64::from_le_bytes(time),
            _ => 1_780_000_000 + i64::from(u16::from_le_bytes([time[0], time[1]])) * 60,
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(dir) = tempfile::Builder::new()
        .prefix("vpnrecon-fuzz")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
    else {
        return;
    };
    let config = StateConfig {
        window_secs: [3_600, 86_400, 10 * 86_400][usize::from(selector >> 1) % 3],
        max_keys: 1 + usize::from(selector >> 3),
        journal_resolution_secs: 3_600,
    };
    let path = dir.path().join(JOURNAL_FILE_NAME);
    if selector & 1 == 1 {
        if fs::write(&path, rest).is_ok() {
            let state = quiet(config, dir.path());
            let _ = state.stats();
        }
        return;
    }
    // A real header: let the state create the journal, keep its first 32 bytes.
    drop(quiet(config, dir.path()));
    let Ok(created) = fs::read(&path) else { return };
    let mut file = created[..HEADER_LEN.min(created.len())].to_vec();
    let mut valid = 0u64;
    let mut cut = false;
    let mut data = rest;
    while let Some((&tag, tail)) = data.split_first() {
        let n = usize::from(tail.first().copied().unwrap_or(0));
        match tag % 4 {
            0 => {
                let body = tail.get(..17).unwrap_or(tail);
                file.extend_from_slice(&entry(body).encode());
                valid += 1;
                data = tail.get(17..).unwrap_or_default();
            }
            1 => {
                // A run long enough to span a chunk boundary.
                let body = tail.get(1..18).unwrap_or_default();
                let base = entry(body);
                for i in 0..(n as u64 * 16) {
                    let e = Entry {
                        key: base.key.wrapping_add(i),
                        ..base
                    };
                    file.extend_from_slice(&e.encode());
                    valid += 1;
                }
                data = tail.get(18..).unwrap_or_default();
            }
            2 => {
                let garbage = tail
                    .get(1..1 + n)
                    .unwrap_or_else(|| tail.get(1..).unwrap_or_default());
                file.extend(
                    garbage
                        .iter()
                        .map(|&b| if b == ENTRY_MAGIC { b ^ 1 } else { b }),
                );
                data = tail.get(1 + garbage.len()..).unwrap_or_default();
            }
            _ => {
                let body = tail.get(1..18).unwrap_or_default();
                let encoded = entry(body).encode();
                let keep = 1 + n % (ENTRY_LEN - 1);
                // Only the first byte keeps the magic, so a cut entry cannot be
                // completed by the bytes that follow it.
                file.push(ENTRY_MAGIC);
                file.extend(
                    encoded[1..keep]
                        .iter()
                        .map(|&b| if b == ENTRY_MAGIC { b ^ 1 } else { b }),
                );
                cut = true;
                data = tail.get(18..).unwrap_or_default();
            }
        }
    }
    if fs::write(&path, &file).is_err() {
        return;
    }
    let first = quiet(config, dir.path());
    let stats = first.stats();
    if !cut {
        assert_eq!(
            stats.journal_entries_loaded, valid,
            "valid entries were lost"
        );
    } else {
        // A cut entry's magic byte can start a 24-byte window over the next entry;
        // only a CRC collision would make that window valid, so at most the
        // entries directly behind cut ones may be shadowed.
        assert!(stats.journal_entries_loaded <= valid);
    }
    assert!(stats.identity_keys <= config.max_keys);
    assert!(stats.workload_keys <= config.max_keys);
    let live = (stats.identity_keys + stats.workload_keys) as u64;
    drop(first);
    let second = quiet(config, dir.path());
    let again = second.stats();
    if stats.journal_corrupt_bytes > 0 {
        assert_eq!(
            again.journal_corrupt_bytes, 0,
            "compaction left damage behind"
        );
        assert_eq!(
            again.journal_entries_loaded, live,
            "compaction lost live keys"
        );
    }
    assert_eq!(again.identity_keys, stats.identity_keys);
    // Rule B's dedup prunes hours older than the newest two only when a newer hour
    // arrives, so which stale (harmless) hours survive a replay depends on the
    // order of entries, and compaction writes them in map order: the reloaded set
    // may be smaller, never larger.
    assert!(again.workload_keys <= stats.workload_keys);
});
