//! `vpnrecon bench`: every host on the same generated traffic, side by side.
//!
//! Throughput is measured over a realistic mix (about 1% VPN discovery candidates),
//! fuel (wasmtime's instruction meter) per record separately for non-matching records
//! and candidates, cold start as open + first record, the ASN lookup on its own, and
//! the backtesting cost: replaying a `.json.gz` archive in alerts mode against merely
//! decompressing it.

use crate::generate::{vpn_addresses, GeneratedEvent, Generator, Rng};
use crate::host::{open, Backend, HostOptions, Mode, RecordTime, DEFAULT_TAG};
use crate::replay::{replay, ReplayOptions};
use anyhow::{Context, Result};
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
        if backend != Backend::Native {
            rows.push(Row {
                what: format!("cold start {backend} (load + instantiate + first record)"),
                value: format!("{:.1} ms", cold.as_secs_f64() * 1000.0),
            });
        }
    }
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

    let (plain, cands) = fuel(&events)?;
    for (label, sample) in [("non-matching record", &plain), ("candidate", &cands)] {
        let value = if sample.is_empty() {
            "no such records".to_string()
        } else {
            let (median, p90) = median_p90(sample);
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

    let (gunzip, replayed, startup) = gzip_ratio(&events, args.events_per_file)?;
    rows.push(Row {
        what: "gzip archive: decompress only".into(),
        value: format!("{:.1} ms", gunzip.as_secs_f64() * 1000.0),
    });
    rows.push(Row {
        what: "gzip archive: replay --mode alerts (wasmtime)".into(),
        value: format!(
            "{:.1} ms = {:.2}x decompression (target <= 1.5x), plus {:.1} ms module startup once per run",
            replayed.as_secs_f64() * 1000.0,
            replayed.as_secs_f64() / gunzip.as_secs_f64().max(1e-9),
            startup.as_secs_f64() * 1000.0
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

/// Fuel per record: (non-matching records, candidates).
fn fuel(events: &[GeneratedEvent]) -> Result<(Vec<u64>, Vec<u64>)> {
    let dir = tempfile::tempdir()?;
    let mut opts = options(Mode::Annotate, dir.path());
    opts.fuel = true;
    let mut host = open(Backend::Wasmtime, &opts)?;
    let mut out = Vec::new();
    let (mut plain, mut cands) = (Vec::new(), Vec::new());
    for event in events {
        let _ = host.call(
            DEFAULT_TAG,
            RecordTime::default(),
            event.json.as_bytes(),
            &mut out,
        );
        if let Some(f) = host.last_fuel() {
            if event.candidate {
                cands.push(f);
            } else {
                plain.push(f);
            }
        }
    }
    Ok((plain, cands))
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

/// Writes the mix as gzipped S3 delivery files, then times decompressing them and
/// replaying them in alerts mode.
fn gzip_ratio(
    events: &[GeneratedEvent],
    per_file: usize,
) -> Result<(Duration, Duration, Duration)> {
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
    let state = tempfile::tempdir()?;
    let mut opts = ReplayOptions::new(Backend::Wasmtime, options(Mode::Alerts, state.path()));
    opts.progress = false;
    // Startup (compiling and instantiating the module) is paid once per run, not per
    // file, so it is reported apart from the streaming cost.
    let replay_once = || -> Result<(Duration, Duration)> {
        let started = Instant::now();
        let report = replay(&[archive.path().to_path_buf()], &opts, &mut io::sink())
            .context("bench replay")?;
        Ok((
            started.elapsed().saturating_sub(report.startup),
            report.startup,
        ))
    };
    decompress()?;
    let mut best_gunzip = Duration::MAX;
    let mut best_replay = (Duration::MAX, Duration::ZERO);
    for _ in 0..3 {
        best_gunzip = best_gunzip.min(decompress()?);
        let run = replay_once()?;
        if run.0 < best_replay.0 {
            best_replay = run;
        }
    }
    Ok((best_gunzip, best_replay.0, best_replay.1))
}
