//! `vpnrecon bench`: every host on the same generated traffic, side by side.
//!
//! Throughput is measured over a realistic mix (about 1% VPN discovery candidates),
//! fuel (wasmtime's instruction meter) per record for each class of record, cold
//! start (compiling against loading the cached compiled module, instantiation and the
//! first record), the ASN lookup on its own, and the backtesting cost: replaying a
//! `.json.gz` archive in alerts mode against merely decompressing it.
//!
//! The floor: the filter against a passthrough module (`host-test/passthrough`, the
//! same exports, returning every record untouched, built with the same profile) on
//! the same records and host, in the same run, for two mixes: events without a
//! configured discovery action, and discovery actions from ordinary (non-VPN)
//! addresses. The passthrough's cost is the host's own work per record, which every
//! wasm filter pays; the ratio and the difference are what the filter adds.

use crate::generate::{vpn_addresses, GeneratedEvent, Generator, Rng};
use crate::host::{open, Backend, FilterHost, HostOptions, Mode, RecordTime, DEFAULT_TAG};
use crate::replay::{replay, ReplayOptions};
use anyhow::{anyhow, Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// Events in the generated mix.
    #[arg(long, default_value_t = 20_000)]
    pub records: usize,
    /// Share of VPN discovery candidates in the mix.
    #[arg(long, default_value_t = 0.01)]
    pub candidate_share: f64,
    /// Events per S3 delivery file in the gzip archive.
    #[arg(long, default_value_t = 100)]
    pub events_per_file: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// The passthrough module built from `host-test/passthrough` by the build script: the
/// same exports as the filter, every entry point returning the record untouched.
#[cfg(feature = "embedded")]
pub fn passthrough_module() -> &'static [u8] {
    include_bytes!(env!("VPNRECON_PASSTHROUGH_WASM"))
}

/// The embedded passthrough module, or a clear error in a build without it.
pub fn try_passthrough_module() -> Result<&'static [u8]> {
    #[cfg(feature = "embedded")]
    return Ok(passthrough_module());
    #[cfg(not(feature = "embedded"))]
    anyhow::bail!("this build embeds no passthrough module (cargo feature `embedded`)")
}

/// Discovery calls as AWS writes them, (event source, event name): the second floor
/// mix puts these, from ordinary addresses, into otherwise generated events.
const DISCOVERY_PAIRS: &[(&str, &str)] = &[
    ("sts.amazonaws.com", "GetCallerIdentity"),
    ("iam.amazonaws.com", "ListUsers"),
    ("iam.amazonaws.com", "ListRoles"),
    ("s3.amazonaws.com", "ListBuckets"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("ec2.amazonaws.com", "DescribeRegions"),
    ("lambda.amazonaws.com", "ListFunctions20150331"),
    ("rds.amazonaws.com", "DescribeDBInstances"),
    ("kms.amazonaws.com", "ListKeys"),
    ("cloudtrail.amazonaws.com", "DescribeTrails"),
];

/// One row of the results table.
pub struct Row {
    pub what: String,
    pub value: String,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let vpn = vpn_addresses(4);
    let mut generator = Generator::new(args.seed, args.candidate_share, &vpn);
    if !generator.has_vpn_sources() {
        eprintln!("bench: the baked ASN table has no addresses of listed VPN ASNs; the mix has no candidates");
    }
    let events: Vec<GeneratedEvent> = (0..args.records).map(|_| generator.event()).collect();
    let bytes: usize = events.iter().map(|e| e.json.len()).sum();
    let candidates = events.iter().filter(|e| e.candidate).count();
    let mut rows = vec![Row {
        what: "generated mix".into(),
        value: format!(
            "{} events, {:.0} bytes each on average, {} candidates, {} VPN source addresses",
            events.len(),
            bytes as f64 / events.len().max(1) as f64,
            candidates,
            vpn.len()
        ),
    }];

    let mut rates = Vec::new();
    for backend in [Backend::Native, Backend::Wasmtime, Backend::Wamr] {
        if !backend.available() {
            rows.push(Row {
                what: format!("records/s {backend}"),
                value: "not in this build".into(),
            });
            continue;
        }
        let (rate, cold) = throughput(backend, &events)?;
        rates.push((backend, rate));
        rows.push(Row {
            what: format!("records/s {backend} (annotate)"),
            value: format!("{rate:.0}"),
        });
        if backend == Backend::Wamr {
            rows.push(Row {
                what: format!("cold start {backend} (load + instantiate + first record)"),
                value: format!("{:.1} ms", cold.as_secs_f64() * 1000.0),
            });
        }
    }
    rows.push(cold_start_wasmtime(&events)?);
    if let Some((_, native)) = rates.iter().find(|(b, _)| *b == Backend::Native) {
        for (backend, rate) in &rates {
            if *backend != Backend::Native && *rate > 0.0 {
                rows.push(Row {
                    what: format!("slowdown {backend} vs native"),
                    value: format!("{:.1}x", native / rate),
                });
            }
        }
    }

    let mixes = floor_mixes(args);
    for (name, records) in &mixes {
        for backend in [Backend::Wasmtime, Backend::Wamr] {
            if backend.available() {
                rows.push(floor(backend, name, records)?);
            }
        }
    }

    let classes = fuel(&events)?;
    let mut fuel_rows = vec![
        ("non-matching record (mix)", classes.plain),
        ("candidate (mix)", classes.candidates),
        ("candidate that fires (mix)", classes.fired),
        ("candidate that does not fire (mix)", classes.not_fired),
    ];
    for (name, records) in &mixes {
        let filter = fuel_of(None, records)?;
        fuel_rows.push((*name, filter));
    }
    if let Some((_, records)) = mixes.first() {
        let floor = fuel_of(Some(try_passthrough_module()?), records)?;
        fuel_rows.push(("record through the passthrough module", floor));
    }
    for (label, sample) in fuel_rows {
        let value = if sample.is_empty() {
            "no such records".to_string()
        } else {
            let (median, p90) = median_p90(&sample);
            format!("median {median}, p90 {p90} ({} records)", sample.len())
        };
        rows.push(Row {
            what: format!("fuel per {label}"),
            value,
        });
    }

    rows.push(Row {
        what: "ASN lookup".into(),
        value: lookup_ns().map_or("no baked table".into(), |ns| format!("{ns:.0} ns")),
    });
    rows.push(Row {
        what: "module size".into(),
        value: crate::try_embedded_module()
            .map_or("not embedded".into(), |m| format!("{} bytes", m.len())),
    });
    rows.push(Row {
        what: "bytes per state key".into(),
        value: bytes_per_state_key().unwrap_or_else(|| "not reported by vpnrecon_info".into()),
    });

    let gz = gzip_ratio(&events, args.events_per_file)?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let ratio = |d: Duration| d.as_secs_f64() / gz.gunzip.as_secs_f64().max(1e-9);
    rows.push(Row {
        what: "gzip archive: decompress only".into(),
        value: format!("{:.1} ms", ms(gz.gunzip)),
    });
    rows.push(Row {
        what: "gzip archive: decompress, split and compact (no module)".into(),
        value: format!(
            "{:.1} ms = {:.2}x decompression",
            ms(gz.read),
            ratio(gz.read)
        ),
    });
    rows.push(Row {
        what: "gzip archive: module calls alone, records in memory (wasmtime)".into(),
        value: format!(
            "{:.1} ms = {:.2}x decompression",
            ms(gz.calls),
            ratio(gz.calls)
        ),
    });
    rows.push(Row {
        what: "gzip archive: replay --mode alerts (wasmtime)".into(),
        value: format!(
            "{:.1} ms = {:.2}x decompression (target <= 1.5x), plus {:.1} ms module startup once per run",
            ms(gz.replay),
            ratio(gz.replay),
            ms(gz.startup)
        ),
    });

    print_table(&rows);
    Ok(())
}

fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|r| r.what.len()).max().unwrap_or(0);
    println!("| {:width$} | value |", "measure");
    println!("|{}|-------|", "-".repeat(width + 2));
    for row in rows {
        println!("| {:width$} | {} |", row.what, row.value);
    }
}

fn options(mode: Mode, dir: &Path) -> HostOptions {
    let mut opts = HostOptions::new(mode);
    opts.dir = Some(dir.to_path_buf());
    opts
}

/// Records per second over the whole mix, and the cold start of the host.
fn throughput(backend: Backend, events: &[GeneratedEvent]) -> Result<(f64, Duration)> {
    let dir = tempfile::tempdir()?;
    let opts = options(Mode::Annotate, dir.path());
    let mut out = Vec::new();
    let cold_started = Instant::now();
    let mut host = open(backend, &opts)?;
    let time = RecordTime::default();
    if let Some(first) = events.first() {
        let _ = host.call(DEFAULT_TAG, time, first.json.as_bytes(), &mut out);
    }
    let cold = cold_started.elapsed();
    let started = Instant::now();
    for event in events.iter().skip(1) {
        let _ = host.call(DEFAULT_TAG, time, event.json.as_bytes(), &mut out);
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    if backend == Backend::Wasmtime {
        // The state's size is only meaningful once the mix has filled it.
        if let Ok(info) = host.info() {
            let _ = LAST_INFO.set(info);
        }
    }
    Ok((events.len().saturating_sub(1) as f64 / secs, cold))
}

/// Fuel per record of the generated mix, by class.
struct FuelClasses {
    plain: Vec<u64>,
    candidates: Vec<u64>,
    /// Candidates that got a detection (the output differs from the input).
    fired: Vec<u64>,
    not_fired: Vec<u64>,
}

fn fuel(events: &[GeneratedEvent]) -> Result<FuelClasses> {
    let dir = tempfile::tempdir()?;
    let mut opts = options(Mode::Annotate, dir.path());
    opts.fuel = true;
    let mut host = open(Backend::Wasmtime, &opts)?;
    let mut out = Vec::new();
    let mut classes = FuelClasses {
        plain: Vec::new(),
        candidates: Vec::new(),
        fired: Vec::new(),
        not_fired: Vec::new(),
    };
    for event in events {
        let _ = host.call(
            DEFAULT_TAG,
            RecordTime::default(),
            event.json.as_bytes(),
            &mut out,
        );
        if let Some(f) = host.last_fuel() {
            if event.candidate {
                classes.candidates.push(f);
                if out != event.json.as_bytes() {
                    classes.fired.push(f);
                } else {
                    classes.not_fired.push(f);
                }
            } else {
                classes.plain.push(f);
            }
        }
    }
    Ok(classes)
}

/// Fuel per record of `records` in one instance of `module` (`None`: the filter).
fn fuel_of(module: Option<&[u8]>, records: &[String]) -> Result<Vec<u64>> {
    let dir = tempfile::tempdir()?;
    let mut opts = options(Mode::Annotate, dir.path());
    opts.fuel = true;
    opts.module = module.map(<[u8]>::to_vec);
    let mut host = open(Backend::Wasmtime, &opts)?;
    let mut out = Vec::new();
    let mut sample = Vec::with_capacity(records.len());
    for record in records {
        let _ = host.call(
            DEFAULT_TAG,
            RecordTime::default(),
            record.as_bytes(),
            &mut out,
        );
        sample.extend(host.last_fuel());
    }
    Ok(sample)
}

/// The two floor mixes, from the generator with no VPN candidates: events whose
/// action is not a configured discovery action, and the same kind of events turned
/// into discovery calls (source and name replaced), all from ordinary addresses.
fn floor_mixes(args: &BenchArgs) -> Vec<(&'static str, Vec<String>)> {
    let mut generator = Generator::new(args.seed ^ 0x5eed, 0.0, &[]);
    let configured = |json: &str| {
        DISCOVERY_PAIRS
            .iter()
            .any(|(_, name)| json.contains(&format!("\"eventName\":\"{name}\"")))
            || CONFIGURED_ROUTINE
                .iter()
                .any(|name| json.contains(&format!("\"eventName\":\"{name}\"")))
    };
    let mut other = Vec::with_capacity(args.records);
    let mut discovery = Vec::with_capacity(args.records);
    while other.len() < args.records {
        let event = generator.event();
        if configured(&event.json) {
            continue;
        }
        let (source, name) = DISCOVERY_PAIRS[discovery.len() % DISCOVERY_PAIRS.len()];
        if let Some(call) = with_action(&event.json, source, name) {
            discovery.push(call);
        }
        other.push(event.json);
    }
    vec![
        ("event without a configured action", other),
        ("discovery call from a non-VPN address", discovery),
    ]
}

/// Configured actions that also occur as everyday traffic in the generator; the
/// first floor mix leaves them out.
const CONFIGURED_ROUTINE: &[&str] = &[
    "GetCallerIdentity",
    "DescribeInstances",
    "ListBuckets",
    "ListKeys",
    "ListTables",
];

/// `json` with its `eventSource` and `eventName` replaced.
fn with_action(json: &str, source: &str, name: &str) -> Option<String> {
    let start = json.find("\"eventSource\":\"")?;
    let name_key = json[start..].find("\"eventName\":\"")? + start;
    let name_end = json[name_key + 13..].find('"')? + name_key + 13;
    Some(format!(
        "{}\"eventSource\":\"{source}\",\"eventName\":\"{name}\"{}",
        &json[..start],
        &json[name_end + 1..]
    ))
}

/// The filter against the passthrough on `records` under `backend`: both timed over
/// the same records in alternation, best of three each.
fn floor(backend: Backend, mix: &str, records: &[String]) -> Result<Row> {
    let dir = tempfile::tempdir()?;
    let filter_opts = options(Mode::Annotate, dir.path());
    let mut floor_opts = filter_opts.clone();
    floor_opts.module = Some(try_passthrough_module()?.to_vec());
    let mut filter = open(backend, &filter_opts)?;
    let mut passthrough = open(backend, &floor_opts)?;
    let mut out = Vec::new();
    let mut pass = |host: &mut Box<dyn FilterHost>| -> Result<Duration> {
        let started = Instant::now();
        for record in records {
            host.call(
                DEFAULT_TAG,
                RecordTime::default(),
                record.as_bytes(),
                &mut out,
            )
            .map_err(|e| anyhow!("{backend} lost a record in the floor run: {e}"))?;
        }
        Ok(started.elapsed())
    };
    // One untimed pass each: state, caches and the module's own first-call setup.
    pass(&mut filter)?;
    pass(&mut passthrough)?;
    let (mut best_filter, mut best_floor) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        best_floor = best_floor.min(pass(&mut passthrough)?);
        best_filter = best_filter.min(pass(&mut filter)?);
    }
    let n = records.len().max(1) as f64;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n;
    Ok(Row {
        what: format!("{backend} ÷ passthrough, {mix}"),
        value: format!(
            "{:.2}x ({:.2} µs vs {:.2} µs per record, +{:.2} µs)",
            best_filter.as_secs_f64() / best_floor.as_secs_f64().max(1e-9),
            per(best_filter),
            per(best_floor),
            per(best_filter) - per(best_floor)
        ),
    })
}

/// wasmtime's cold start: compiling the module against loading it from the cache,
/// then instantiation and the first record.
fn cold_start_wasmtime(events: &[GeneratedEvent]) -> Result<Row> {
    let Ok(module) = crate::try_embedded_module() else {
        return Ok(Row {
            what: "cold start wasmtime".into(),
            value: "no embedded module".into(),
        });
    };
    let first = events.first().map_or(&b"{}"[..], |e| e.json.as_bytes());
    let timings = crate::wasmtime_host::cold_start(module, first)?;
    Ok(Row {
        what: "cold start wasmtime (module, then instantiate + first record)".into(),
        value: format!(
            "compile {:.0} ms, or load from the cache {:.1} ms; then {:.1} ms",
            timings.compile.as_secs_f64() * 1000.0,
            timings.load_cached.as_secs_f64() * 1000.0,
            timings.instantiate_and_first.as_secs_f64() * 1000.0
        ),
    })
}

/// Median and 90th percentile (nearest rank).
pub fn median_p90(sample: &[u64]) -> (u64, u64) {
    let mut sorted = sample.to_vec();
    sorted.sort_unstable();
    let at = |q: f64| -> u64 {
        if sorted.is_empty() {
            return 0;
        }
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    };
    (at(0.5), at(0.9))
}

fn lookup_ns() -> Option<f64> {
    let table = asn_data::baked()?;
    let mut rng = Rng::new(11);
    let ips: Vec<IpAddr> = (0..100_000)
        .map(|_| IpAddr::V4(Ipv4Addr::from(rng.next_u64() as u32)))
        .collect();
    let started = Instant::now();
    let mut hits = 0usize;
    for _ in 0..10 {
        for ip in &ips {
            hits += usize::from(table.lookup(*ip).is_some());
        }
    }
    std::hint::black_box(hits);
    Some(started.elapsed().as_nanos() as f64 / (ips.len() * 10) as f64)
}

/// `vpnrecon_info` of the wasmtime instance after the throughput run.
static LAST_INFO: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Looks for a number under a key containing `bytes_per` in the module's info
/// after the throughput run.
fn bytes_per_state_key() -> Option<String> {
    let info: serde_json::Value = serde_json::from_str(LAST_INFO.get()?).ok()?;
    let mut stack = vec![(String::new(), &info)];
    while let Some((key, value)) = stack.pop() {
        match value {
            serde_json::Value::Object(map) => {
                stack.extend(map.iter().map(|(k, v)| (k.clone(), v)));
            }
            serde_json::Value::Number(n) if key.contains("bytes_per") => {
                return Some(format!("{n} ({key})"));
            }
            _ => {}
        }
    }
    None
}

/// Reads every record of the archive in `dir` as replay's input side does, on this
/// thread.
fn read_archive(dir: &Path, visit: &mut crate::input::Visit<'_>) -> Result<()> {
    let mut stats = crate::input::InputStats::default();
    for source in crate::input::walk(&[dir.to_path_buf()], &mut stats)? {
        crate::input::read_records(&source, false, &mut stats, visit)?;
    }
    Ok(())
}

/// Best-of-three times over the same gzip archive.
struct GzipTimes {
    /// Decompressing every file, nothing else.
    gunzip: Duration,
    /// Decompressing, splitting into records and compacting them (replay's input
    /// side, no module).
    read: Duration,
    /// The module calls alone, the records already read into memory (alerts mode).
    calls: Duration,
    /// The whole replay in alerts mode, module startup excluded.
    replay: Duration,
    /// Module startup of the best replay run.
    startup: Duration,
}

/// Writes the mix as gzipped S3 delivery files, then times decompressing them,
/// reading them into records, and replaying them in alerts mode.
fn gzip_ratio(events: &[GeneratedEvent], per_file: usize) -> Result<GzipTimes> {
    let archive = tempfile::tempdir()?;
    for (n, chunk) in events.chunks(per_file.max(1)).enumerate() {
        let path = archive.path().join(format!("{n:06}_CloudTrail.json.gz"));
        let mut gz = GzEncoder::new(fs::File::create(&path)?, Compression::default());
        gz.write_all(b"{\"Records\":[")?;
        for (i, event) in chunk.iter().enumerate() {
            if i > 0 {
                gz.write_all(b",")?;
            }
            gz.write_all(event.json.as_bytes())?;
        }
        gz.write_all(b"]}")?;
        gz.finish()?;
    }
    let mut files: Vec<_> = fs::read_dir(archive.path())?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    files.sort();

    // Warm the page cache, then take the best of three for each side.
    let decompress = || -> Result<Duration> {
        let started = Instant::now();
        for file in &files {
            let mut gz =
                flate2::read::MultiGzDecoder::new(io::BufReader::new(fs::File::open(file)?));
            io::copy(&mut gz, &mut io::sink())?;
        }
        Ok(started.elapsed())
    };
    // Startup (compiling and instantiating the module) is paid once per run, not per
    // file, so it is reported apart from the streaming cost. Each run starts from an
    // empty state directory, as a first backtest does: every alert is journalled.
    let replay_once = || -> Result<(Duration, Duration)> {
        let state = tempfile::tempdir()?;
        let mut opts = ReplayOptions::new(Backend::Wasmtime, options(Mode::Alerts, state.path()));
        opts.progress = false;
        let started = Instant::now();
        let report = replay(&[archive.path().to_path_buf()], &opts, &mut io::sink())
            .context("bench replay")?;
        Ok((
            started.elapsed().saturating_sub(report.startup),
            report.startup,
        ))
    };
    let read_only = || -> Result<Duration> {
        let started = Instant::now();
        let mut records = 0usize;
        read_archive(archive.path(), &mut |record, _| {
            records += usize::from(!record.is_empty());
            Ok(())
        })?;
        std::hint::black_box(records);
        Ok(started.elapsed())
    };
    let mut records: Vec<(Vec<u8>, Option<RecordTime>)> = Vec::new();
    read_archive(archive.path(), &mut |record, time| {
        records.push((record.to_vec(), time));
        Ok(())
    })?;
    let calls_only = || -> Result<Duration> {
        let calls_state = tempfile::tempdir()?;
        let mut host = open(
            Backend::Wasmtime,
            &options(Mode::Alerts, calls_state.path()),
        )?;
        let mut out = Vec::new();
        let started = Instant::now();
        for (record, time) in &records {
            host.call(DEFAULT_TAG, time.unwrap_or_default(), record, &mut out)
                .context("bench call")?;
        }
        Ok(started.elapsed())
    };
    decompress()?;
    let mut times = GzipTimes {
        gunzip: Duration::MAX,
        calls: Duration::MAX,
        read: Duration::MAX,
        replay: Duration::MAX,
        startup: Duration::ZERO,
    };
    for _ in 0..3 {
        times.gunzip = times.gunzip.min(decompress()?);
        times.read = times.read.min(read_only()?);
        times.calls = times.calls.min(calls_only()?);
        let (replayed, startup) = replay_once()?;
        if replayed < times.replay {
            times.replay = replayed;
            times.startup = startup;
        }
    }
    Ok(times)
}

#[cfg(all(test, feature = "native"))]
mod tests {
    use super::*;
    use vpnrecon_filter::config::DEFAULT_ACTIONS;

    fn event_name(json: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(json).expect("generated JSON");
        value["eventName"].as_str().expect("eventName").to_string()
    }

    /// Lambda's versioned names count as the action without the date suffix.
    fn configured(name: &str) -> bool {
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
        DEFAULT_ACTIONS.contains(&name) || DEFAULT_ACTIONS.contains(&base)
    }

    #[test]
    fn floor_mixes_hold_what_their_names_say() {
        let args = BenchArgs {
            records: 500,
            candidate_share: 0.0,
            events_per_file: 100,
            seed: 3,
        };
        let mixes = floor_mixes(&args);
        let (_, other) = &mixes[0];
        let (_, discovery) = &mixes[1];
        assert_eq!(other.len(), 500);
        assert_eq!(discovery.len(), 500);
        for json in other {
            assert!(!configured(&event_name(json)), "{json}");
        }
        let vpn: Vec<String> = vpn_addresses(4)
            .iter()
            .map(|(_, ip)| ip.to_string())
            .collect();
        for json in discovery {
            let value: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
            let name = value["eventName"].as_str().expect("eventName");
            assert!(configured(name), "{name} is not a default action");
            let source = value["sourceIPAddress"].as_str().expect("sourceIPAddress");
            assert!(!vpn.contains(&source.to_string()), "{source}");
        }
    }
}
