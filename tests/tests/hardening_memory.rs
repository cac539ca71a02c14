//! Bounded memory: linear memory stops growing after warm-up however many records
//! pass, and distinct identities beyond `max_keys` are evicted, not kept.
//!
//! They run the module in the host crate's wasmtime backend, which reports the size
//! of linear memory (in 64 KiB pages) between calls.
//!
//! The full-size runs are `#[ignore]`d (minutes, not seconds):
//!
//! ```sh
//! cargo test --release -p vpnrecon-e2e --test hardening_memory -- --ignored --nocapture
//! ```

mod hardening_common;

use std::path::Path;

use hardening_common::{call, discovery_event, host, info, PLAIN_IP, VPN_IP};
use vpnrecon_host::{Backend, CallOutcome, FilterHost, Mode};

/// The module in wasmtime (`vpnrecon_alerts`, Fluent Bit's calling convention),
/// memory in view.
struct Probe {
    host: Box<dyn FilterHost>,
    out: Vec<u8>,
}

impl Probe {
    fn new(dir: &Path) -> Probe {
        Probe {
            host: host(Backend::Wasmtime, Mode::Alerts, Some(dir)),
            out: Vec::new(),
        }
    }

    fn pages(&self) -> u64 {
        self.host
            .memory_pages()
            .expect("wasmtime reports the size of linear memory")
    }

    /// One record through `vpnrecon_alerts`; whether it fired.
    fn alerts(&mut self, record: &[u8]) -> bool {
        let outcome = call(self.host.as_mut(), record, &mut self.out).expect("no trap");
        outcome == CallOutcome::Kept
    }

    fn info(&mut self) -> serde_json::Value {
        info(self.host.as_mut())
    }
}

/// Record `n` of a stream that repeats a bounded population: mostly benign
/// events (rejected by the prefilter), some discovery calls from outside the VPN
/// list, some from a VPN address by 500 recurring users, and now and then a large
/// record (64 KiB). Event time advances one second per record.
fn recurring(n: u64) -> Vec<u8> {
    let time = format_time(n);
    match n % 10 {
        0..=5 => format!(
            r#"{{"eventVersion":"1.09","eventTime":"{time}","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"{PLAIN_IP}","requestParameters":{{"key":"k{n}"}}}}"#
        )
        .into_bytes(),
        6 | 7 => discovery_event(&format!("dev{}", n % 97), PLAIN_IP, &time).into_bytes(),
        8 => discovery_event(&format!("user{}", n % 500), VPN_IP, &time).into_bytes(),
        _ if n % 1000 == 9 => discovery_event(&"x".repeat(64 << 10), PLAIN_IP, &time).into_bytes(),
        _ => discovery_event(&format!("ops{}", n % 13), VPN_IP, &time).into_bytes(),
    }
}

/// Seconds after 2026-06-01T00:00:00Z as an ISO 8601 UTC time (days < 28).
fn format_time(offset: u64) -> String {
    let (d, rest) = (offset / 86_400, offset % 86_400);
    format!(
        "2026-06-{:02}T{:02}:{:02}:{:02}Z",
        1 + d % 28,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Replays `total` records; returns the page count after `warm_up` records and at
/// the end.
fn replay_recurring(total: u64, warm_up: u64) -> (u64, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut probe = Probe::new(dir.path());
    let mut after_warm_up = 0;
    for n in 0..total {
        probe.alerts(&recurring(n));
        if n + 1 == warm_up {
            after_warm_up = probe.pages();
        }
    }
    let info = probe.info();
    assert_eq!(info["counters"]["records"], total, "{info}");
    (after_warm_up, probe.pages())
}

#[test]
fn linear_memory_stops_growing_after_warm_up() {
    let (warm, end) = replay_recurring(200_000, 20_000);
    eprintln!("pages after 20,000 records: {warm}; after 200,000: {end}");
    assert_eq!(end, warm, "linear memory grew after warm-up");
}

/// Three rounds of `per_round` distinct identities from a VPN address, with
/// `max_keys` set in `vpnrecon.toml`. Returns (pages after round 2, pages after
/// round 3, info).
fn distinct_identities(max_keys: u64, per_round: u64) -> (u64, u64, serde_json::Value) {
    // Round 1 fills the map past its cap; round 2 runs the first eviction and
    // journal compaction cycles (their buffers are warm-up); round 3 must fit in
    // what rounds 1 and 2 left.
    let rounds = 3;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("vpnrecon.toml"),
        format!("max_keys = {max_keys}\n"),
    )
    .expect("write config");
    let mut probe = Probe::new(dir.path());
    let mut fired = 0u64;
    let mut pages = Vec::new();
    for round in 0..rounds {
        for i in 0..per_round {
            let n = round * per_round + i;
            // Eight per second, so all stay inside the 10-day window: eviction, not
            // expiry, is what keeps the map at its cap.
            let time = format_time(n / 8);
            fired += u64::from(
                probe.alerts(discovery_event(&format!("id{n}"), VPN_IP, &time).as_bytes()),
            );
        }
        pages.push(probe.pages());
    }
    let info = probe.info();
    // Each identity is new: every one fires, eviction notwithstanding.
    assert_eq!(fired, rounds * per_round, "{info}");
    (pages[1], pages[2], info)
}

#[test]
fn distinct_identities_respect_the_cap_and_evict() {
    let (first, second, info) = distinct_identities(20_000, 40_000);
    let state = &info["state"];
    eprintln!("pages: {first} after 80,000 identities, {second} after 120,000; state: {state}");
    assert!(
        state["identity_keys"].as_u64().expect("count") <= 20_000,
        "{info}"
    );
    assert!(state["evicted"].as_u64().expect("count") > 0, "{info}");
    let source = info["config"]["source"].as_str().unwrap_or_default();
    assert!(
        source.ends_with("vpnrecon.toml"),
        "vpnrecon.toml not in force: {info}"
    );
    assert!(info["config"]["error"].is_null(), "{info}");
    assert_eq!(
        second, first,
        "linear memory grew while the map was at its cap"
    );
}

#[test]
#[ignore = "10 million records, minutes in release mode"]
fn ten_million_records_in_bounded_memory() {
    let (warm, end) = replay_recurring(10_000_000, 100_000);
    eprintln!("pages after 100,000 records: {warm}; after 10,000,000: {end}");
    assert_eq!(end, warm, "linear memory grew after warm-up");
}

#[test]
#[ignore = "2 million distinct identities at the default cap, minutes in release mode"]
fn two_million_identities_at_the_default_cap() {
    let (first, second, info) = distinct_identities(1_000_000, 700_000);
    let state = &info["state"];
    eprintln!(
        "pages: {first} after 2,000,000 identities, {second} after 4,000,000; state: {state}"
    );
    assert!(
        state["identity_keys"].as_u64().expect("count") <= 1_000_000,
        "{info}"
    );
    assert!(state["evicted"].as_u64().expect("count") > 0, "{info}");
    assert_eq!(second, first);
}
