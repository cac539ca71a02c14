//! Fuel (wasm instructions, wasmtime's meter) per record class over the fixtures: the
//! table in docs/BENCHMARKS.md.
//!
//!     cargo run --release -p vpnrecon-e2e --example fuel_classes
//!     cargo run -p vpnrecon-e2e --example fuel_classes -- --mix 20000 [MODULE]
//!     cargo run -p vpnrecon-e2e --example fuel_classes -- --stages MODULE ENTRY,.. FILE
//!
//! Each record's class comes from the module's own counters (`vpnrecon_info`) read
//! after the call, and from whether its top-level `eventName` is a configured action
//! (computed here from the configuration's defaults, not by the module): *no action*
//! (turned away without a configured action), *non-VPN* (a configured action turned
//! away by the source-address stage), *parsed* (parsed, no candidate), *candidate*
//! (a candidate that did not fire) and *fires*.

use std::collections::BTreeMap;
use std::path::Path;
use vpnrecon_e2e::{fixtures, RECORD_TIME_SEC};
use vpnrecon_filter::config::DEFAULT_ACTIONS;
use vpnrecon_filter::prefilter::normalise_action;
use vpnrecon_host::{Backend, CallOutcome, FilterHost, HostOptions, Mode, RecordTime};

fn counters(host: &mut dyn FilterHost) -> (u64, u64, u64) {
    let info: serde_json::Value =
        serde_json::from_str(&host.info().unwrap_or_default()).unwrap_or_default();
    let c = &info["counters"];
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let detections = c["detections"]
        .as_object()
        .map_or(0, |d| d.values().map(n).sum());
    (n(&c["parsed"]), n(&c["candidates"]), detections)
}

fn configured_action(record: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(record) else {
        return false;
    };
    v["eventName"]
        .as_str()
        .is_some_and(|name| DEFAULT_ACTIONS.contains(&normalise_action(name)))
}

/// The embedded module, or the one at `VPNRECON_FUEL_MODULE` (another build of the
/// filter, to compare two builds on the same fixtures).
fn host() -> Box<dyn FilterHost> {
    let mut options = HostOptions::new(Mode::Annotate);
    options.fuel = true;
    options.capture_stderr = true;
    if let Some(path) = std::env::var_os("VPNRECON_FUEL_MODULE") {
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", std::path::Path::new(&path).display()));
        options.module = Some(bytes);
    }
    vpnrecon_host::open(Backend::Wasmtime, &options).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs `records` through one instance and adds each record's fuel to its class.
fn run(host: &mut dyn FilterHost, records: &[String], classes: &mut BTreeMap<&str, Vec<u64>>) {
    let time = RecordTime {
        sec: RECORD_TIME_SEC,
        nsec: 0,
    };
    let mut out = Vec::new();
    for record in records {
        let before = counters(host);
        match host.call(b"aws.cloudtrail", time, record.as_bytes(), &mut out) {
            Ok(CallOutcome::Kept | CallOutcome::Dropped) => {}
            Err(e) => panic!("record lost: {e}"),
        }
        let fuel = host.last_fuel().unwrap_or(0);
        let after = counters(host);
        let class = if after.2 > before.2 {
            "fires"
        } else if after.1 > before.1 {
            "candidate, does not fire"
        } else if after.0 > before.0 {
            "parsed, no candidate"
        } else if configured_action(record) {
            "configured action, non-VPN source"
        } else {
            "no configured action"
        };
        classes.entry(class).or_default().push(fuel);
    }
}

fn median_p90(values: &mut [u64]) -> (u64, u64) {
    values.sort_unstable();
    let at = |q: usize| values.get((values.len() * q / 100).min(values.len().saturating_sub(1)));
    (at(50).copied().unwrap_or(0), at(90).copied().unwrap_or(0))
}

fn report(title: &str, classes: &mut BTreeMap<&str, Vec<u64>>) {
    println!("\n{title}");
    println!("| class | n | median | p90 |\n|---|---|---|---|");
    for (class, fuel) in classes.iter_mut() {
        let n = fuel.len();
        let (median, p90) = median_p90(fuel);
        println!("| {class} | {n} | {median} | {p90} |");
    }
}

/// `fuel_classes --stages MODULE ENTRY,ENTRY,.. FILE`: the fuel of each line of FILE
/// through each named export of MODULE (a module with the filter's entry-point
/// signature and `malloc`/`free`, e.g. one that runs a single stage of the filter),
/// each export in its own instance, one column per export. For profiling: fuel
/// counted around one stage at a time.
fn stages(module: &str, entries: &str, path: &str) {
    let bytes = std::fs::read(module).unwrap_or_else(|e| panic!("{module}: {e}"));
    let lines = fixtures::lines(Path::new(path));
    let time = RecordTime {
        sec: RECORD_TIME_SEC,
        nsec: 0,
    };
    let mut columns = Vec::new();
    for entry in entries.split(',') {
        let mut options = HostOptions::new(Mode::Annotate);
        options.fuel = true;
        options.capture_stderr = true;
        options.module = Some(bytes.clone());
        options.entry_override = Some(entry.to_owned());
        let mut h =
            vpnrecon_host::open(Backend::Wasmtime, &options).unwrap_or_else(|e| panic!("{e:#}"));
        let mut out = Vec::new();
        let fuel: Vec<u64> = lines
            .iter()
            .map(|line| {
                let _ = h.call(b"aws.cloudtrail", time, line.as_bytes(), &mut out);
                h.last_fuel().unwrap_or(0)
            })
            .collect();
        columns.push(fuel);
    }
    println!("{}\trecord", entries.replace(',', "\t"));
    for (i, line) in lines.iter().enumerate() {
        let row: Vec<String> = columns
            .iter()
            .map(|c| c.get(i).copied().unwrap_or(0).to_string())
            .collect();
        println!(
            "{}\t{}",
            row.join("\t"),
            line.chars().take(60).collect::<String>()
        );
    }
}

/// `fuel_classes --mix N [MODULE]`: the per-class table over N events of
/// `vpnrecon bench`'s generated mix (seed 1, 1% VPN discovery candidates), in one
/// instance of MODULE (default: the embedded module), so that two builds of the
/// filter compare on the same records.
fn mix(n: usize, module: Option<&str>) {
    let vpn = vpnrecon_host::generate::vpn_addresses(4);
    let mut generator = vpnrecon_host::generate::Generator::new(1, 0.01, &vpn);
    let records: Vec<String> = (0..n).map(|_| generator.event().json).collect();
    let mut options = HostOptions::new(Mode::Annotate);
    options.fuel = true;
    options.capture_stderr = true;
    if let Some(path) = module {
        options.module = Some(std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}")));
    }
    let mut h =
        vpnrecon_host::open(Backend::Wasmtime, &options).unwrap_or_else(|e| panic!("{e:#}"));
    let mut classes = BTreeMap::new();
    run(h.as_mut(), &records, &mut classes);
    report(&format!("bench mix, {n} events"), &mut classes);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--mix") {
        let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
        mix(n, args.get(2).map(String::as_str));
        return;
    }
    if let [flag, module, entries, path] = args.as_slice() {
        if flag == "--stages" {
            stages(module, entries, path);
            return;
        }
    }
    // `fuel_classes FILE`: the fuel of each line of FILE, in one instance.
    if let Some(path) = std::env::args().nth(1) {
        let mut h = host();
        let time = RecordTime {
            sec: RECORD_TIME_SEC,
            nsec: 0,
        };
        let mut out = Vec::new();
        for line in fixtures::lines(Path::new(&path)) {
            let kept = h.call(b"aws.cloudtrail", time, line.as_bytes(), &mut out);
            let fuel = h.last_fuel().unwrap_or(0);
            println!(
                "{fuel}\t{}\t{}",
                kept.is_ok(),
                line.chars().take(60).collect::<String>()
            );
        }
        return;
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filter/tests/data");
    let mut reference = BTreeMap::new();
    for name in [
        "cloudtrail_kms_decrypt.json",
        "cloudtrail_describe_instances.json",
    ] {
        let text = std::fs::read_to_string(data.join(name)).unwrap_or_default();
        let mut h = host();
        let one = vec![text.trim().to_owned()];
        run(h.as_mut(), &one, &mut reference);
    }
    report("reference records", &mut reference);

    let mut chain = BTreeMap::new();
    let mut h = host();
    let mut lines = fixtures::benign();
    lines.extend(fixtures::attack_chain().events);
    run(h.as_mut(), &lines, &mut chain);
    report("benign + attack chain", &mut chain);

    let mut clauses = BTreeMap::new();
    for case in fixtures::clause_cases() {
        let mut h = host();
        run(h.as_mut(), &case.events, &mut clauses);
    }
    report("clauses (default configuration)", &mut clauses);
}
