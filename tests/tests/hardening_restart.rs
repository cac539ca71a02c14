//! Restart safety: the state journal survives a write cut short by a crash and
//! garbage in its middle. The module, with a pre-opened state directory, is
//! reinstantiated between batches (as Fluent Bit does on restart, and older
//! releases did per chunk). A damaged journal must give back every valid entry,
//! say so in exactly one stderr line, and lead to exactly the alerts of a run whose
//! journal was never damaged.

mod hardening_common;

use std::fs;
use std::path::Path;

use hardening_common::*;
use vpnrecon_host::{Backend, CallOutcome, FilterHost, Mode};

const JOURNAL: &str = "vpnrecon.journal";
const HEADER_LEN: usize = 32;
const ENTRY_LEN: usize = 24;

/// Batches separated by restarts. Batch 1 creates 40 identities from a VPN
/// address. Batch 2 (two hours later) repeats them — not new, so no alerts, but only
/// if the journal kept them — and adds 10 new ones. Batch 3 (12 days later, past
/// the 10-day window) repeats the first 20: new again, with `previous_seen`.
fn batches() -> Vec<Vec<String>> {
    let user = |i: usize| format!("user{i:03}");
    let batch1 = (0..40)
        .map(|i| discovery_event(&user(i), VPN_IP, &format!("2026-06-01T10:{:02}:00Z", i)))
        .collect();
    let batch2 = (0..50)
        .map(|i| discovery_event(&user(i), VPN_IP, &format!("2026-06-01T12:{:02}:00Z", i)))
        .collect();
    let batch3 = (0..20)
        .map(|i| discovery_event(&user(i), VPN_IP, &format!("2026-06-13T12:{:02}:00Z", i)))
        .collect();
    vec![batch1, batch2, batch3]
}

/// The alerts of one batch: each firing record's index and output.
type Alerts = Vec<(usize, Vec<u8>)>;

/// A way to damage the journal file.
type Damage<'a> = &'a dyn Fn(&Path);

fn run_batch(host: &mut dyn FilterHost, batch: &[String]) -> Alerts {
    let mut alerts = Vec::new();
    for (i, record) in batch.iter().enumerate() {
        let mut out = Vec::new();
        match call(host, record.as_bytes(), &mut out) {
            Ok(CallOutcome::Kept) => alerts.push((i, out)),
            Ok(CallOutcome::Dropped) => {}
            Err(e) => panic!("{}: record {i} failed: {e}", host.backend()),
        }
    }
    alerts
}

fn warnings(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.contains("vpnrecon"))
        .map(str::to_owned)
        .collect()
}

/// Runs all batches, applying `damage` to the journal at the first restart.
/// Returns the alerts of each batch and the stderr lines after that restart.
fn run(
    backend: Backend,
    dir: &Path,
    damage: Damage<'_>,
) -> (Vec<Alerts>, Vec<String>, Vec<String>) {
    let mut host = host(backend, Mode::Alerts, Some(dir));
    let mut all = Vec::new();
    let mut after_damage = Vec::new();
    let mut after_next = Vec::new();
    for (n, batch) in batches().iter().enumerate() {
        if n > 0 {
            host.take_stderr();
            if n == 1 {
                damage(&dir.join(JOURNAL));
            }
            host.reinstantiate().expect("reinstantiate");
        }
        all.push(run_batch(host.as_mut(), batch));
        match n {
            1 => after_damage = warnings(&host.take_stderr()),
            2 => after_next = warnings(&host.take_stderr()),
            _ => {}
        }
    }
    (all, after_damage, after_next)
}

/// The journal as it is, plus the first 10 bytes of one more entry: the process
/// died while appending it.
fn cut_mid_write(path: &Path) {
    let mut bytes = fs::read(path).expect("journal exists");
    assert!(bytes.len() >= HEADER_LEN + ENTRY_LEN, "journal has entries");
    let last = bytes[bytes.len() - ENTRY_LEN..].to_vec();
    bytes.extend_from_slice(&last[..10]);
    fs::write(path, bytes).expect("write journal");
}

/// 37 bytes of garbage between the 5th and 6th entries.
fn garbage_in_the_middle(path: &Path) {
    let mut bytes = fs::read(path).expect("journal exists");
    let at = HEADER_LEN + 5 * ENTRY_LEN;
    assert!(
        bytes.len() > at + ENTRY_LEN,
        "journal has more than 6 entries"
    );
    let garbage: Vec<u8> = (0..37u8).map(|i| i.wrapping_mul(89) ^ 0x5c).collect();
    bytes.splice(at..at, garbage);
    fs::write(path, bytes).expect("write journal");
}

#[test]
fn damaged_journals_recover_every_valid_entry_and_the_same_alerts() {
    for backend in backends() {
        let clean_dir = tempfile::tempdir().expect("tempdir");
        let (clean, clean_warnings, _) = run(backend, clean_dir.path(), &|_| {});
        assert!(clean_warnings.is_empty(), "{backend}: {clean_warnings:?}");
        // The expectation, from the batches' design: all 40 new in batch 1, only
        // the 10 new users in batch 2, the 20 returning after the window in batch 3.
        let fired: Vec<Vec<usize>> = clean
            .iter()
            .map(|b| b.iter().map(|(i, _)| *i).collect())
            .collect();
        assert_eq!(fired[0], (0..40).collect::<Vec<_>>(), "{backend}");
        assert_eq!(fired[1], (40..50).collect::<Vec<_>>(), "{backend}");
        assert_eq!(fired[2], (0..20).collect::<Vec<_>>(), "{backend}");

        let damages: [(&str, Damage<'_>); 2] = [
            ("cut mid-write", &cut_mid_write),
            ("garbage in the middle", &garbage_in_the_middle),
        ];
        for (name, damage) in damages {
            let dir = tempfile::tempdir().expect("tempdir");
            let (alerts, warned, later) = run(backend, dir.path(), damage);
            assert_eq!(
                warned.len(),
                1,
                "{backend}, {name}: one warning expected: {warned:?}"
            );
            assert!(
                warned[0].contains("corrupt bytes"),
                "{backend}, {name}: {}",
                warned[0]
            );
            assert!(
                warned[0].contains("kept 40 entries"),
                "{backend}, {name}: {}",
                warned[0]
            );
            assert!(
                later.is_empty(),
                "{backend}, {name}: repeated warning {later:?}"
            );
            // The outputs hold no per-run values (the journal's secret never
            // appears), so the damaged run must match the clean one byte for byte.
            assert_eq!(alerts.len(), clean.len());
            for (b, (got, want)) in alerts.iter().zip(&clean).enumerate() {
                let got_idx: Vec<usize> = got.iter().map(|(i, _)| *i).collect();
                let want_idx: Vec<usize> = want.iter().map(|(i, _)| *i).collect();
                assert_eq!(
                    got_idx,
                    want_idx,
                    "{backend}, {name}: batch {} alerts",
                    b + 1
                );
                for ((_, g), (i, w)) in got.iter().zip(want) {
                    assert!(
                        g == w,
                        "{backend}, {name}: batch {} record {i} output differs",
                        b + 1
                    );
                }
            }
        }
    }
}
