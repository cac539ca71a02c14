//! Backtesting: stream archived logs through a host, write surviving records as
//! NDJSON in input order, and keep the counts for the summary.

use crate::host::{open, Backend, CallError, CallOutcome, HostOptions, RecordTime, DEFAULT_TAG};
use crate::input::{self, InputStats, Source};
use crate::summary::Summary;
use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub backend: Backend,
    pub host: HostOptions,
    /// Hand S3 delivery files over whole instead of one record per event.
    pub batch: bool,
    pub tag: Vec<u8>,
    /// Draw a progress line on stderr (only honoured when stderr is a terminal).
    pub progress: bool,
    /// Print each lost record to stderr as it happens.
    pub report_lost: bool,
}

impl ReplayOptions {
    pub fn new(backend: Backend, host: HostOptions) -> ReplayOptions {
        ReplayOptions {
            backend,
            host,
            batch: false,
            tag: DEFAULT_TAG.to_vec(),
            progress: true,
            report_lost: true,
        }
    }
}

/// A record the module failed on.
#[derive(Clone, Debug)]
pub struct LostRecord {
    /// 1-based position of the record in the whole replay.
    pub position: u64,
    pub source: String,
    pub error: CallError,
}

#[derive(Clone, Debug, Default)]
pub struct ReplayReport {
    pub summary: Summary,
    pub lost: Vec<LostRecord>,
    /// Fuel per record, in input order (wasmtime with fuel metering only).
    pub fuel: Vec<u64>,
    pub instantiations: u64,
    /// Time spent loading, compiling and instantiating the module before the first record.
    pub startup: Duration,
    /// What the module wrote to stderr, when the host captured it.
    pub module_stderr: Vec<u8>,
}

/// Records handed from the reading thread to the host, in input order.
type Batch = Vec<(Vec<u8>, Option<RecordTime>)>;
/// Records per batch: enough to amortise the hand-over, small enough for flat memory.
const BATCH_RECORDS: usize = 256;
/// Batches in flight between the threads.
const BATCHES_IN_FLIGHT: usize = 8;

/// Replays `paths` (files, directories, `-`) and writes the surviving records to `out`.
///
/// Reading (decompression, splitting, compaction) runs on its own thread, ahead of
/// the host by a bounded number of batches; the host stays on the calling thread
/// (WAMR's execution environment belongs to the thread that made it).
pub fn replay(
    paths: &[PathBuf],
    opts: &ReplayOptions,
    out: &mut dyn Write,
) -> Result<ReplayReport> {
    let started = Instant::now();
    let mut stats = InputStats::default();
    let sources = input::walk(paths, &mut stats)?;
    let opened = Instant::now();
    let mut host = open(opts.backend, &opts.host)?;
    let mut report = ReplayReport {
        startup: opened.elapsed(),
        ..ReplayReport::default()
    };
    let mut progress = Progress::new(opts.progress && std::io::stderr().is_terminal());
    let mut result = Vec::new();
    // Fluent Bit stamps a record without its own time with the time of reading; use
    // the last event time seen instead so a replay is reproducible.
    let mut last_time = RecordTime::default();

    let (sender, receiver) = mpsc::sync_channel::<(usize, Batch)>(BATCHES_IN_FLIGHT);
    let batch = opts.batch;
    let (read_result, run_result) = thread::scope(|scope| {
        let sources = &sources;
        let reader = scope.spawn(move || -> Result<InputStats> {
            let mut stats = stats;
            for (index, source) in sources.iter().enumerate() {
                let mut pending: Batch = Vec::with_capacity(BATCH_RECORDS);
                input::read_records(source, batch, &mut stats, &mut |record, time| {
                    pending.push((record.to_vec(), time));
                    if pending.len() >= BATCH_RECORDS {
                        let full =
                            std::mem::replace(&mut pending, Vec::with_capacity(BATCH_RECORDS));
                        // The receiver is gone only when the host side stopped early.
                        sender
                            .send((index, full))
                            .map_err(|_| anyhow::anyhow!("replay stopped"))?;
                    }
                    Ok(())
                })
                .with_context(|| format!("replaying {}", source_label(source)))?;
                if !pending.is_empty() && sender.send((index, pending)).is_err() {
                    break;
                }
            }
            Ok(stats)
        });
        let run = (|| -> Result<()> {
            for (index, records) in receiver.iter() {
                let name = sources[index].display();
                for (record, time) in records {
                    let summary = &mut report.summary;
                    summary.records += 1;
                    let time = time.unwrap_or(last_time);
                    last_time = time;
                    match host.call(&opts.tag, time, &record, &mut result) {
                        Ok(CallOutcome::Kept) => {
                            summary.kept += 1;
                            summary.observe_output(&result);
                            out.write_all(&result)
                                .and_then(|()| out.write_all(b"\n"))
                                .context("writing output")?;
                        }
                        Ok(CallOutcome::Dropped) => summary.dropped += 1,
                        Err(error) => {
                            summary.lost += 1;
                            if opts.report_lost {
                                progress.clear();
                                eprintln!(
                                    "vpnrecon: LOST record #{} ({name}): {error}",
                                    summary.records
                                );
                            }
                            report.lost.push(LostRecord {
                                position: summary.records,
                                source: name.clone(),
                                error,
                            });
                        }
                    }
                    if let Some(f) = host.last_fuel() {
                        report.fuel.push(f);
                    }
                    progress.tick(&report.summary, started);
                }
            }
            Ok(())
        })();
        // Unblock the reader if the host side stopped early.
        drop(receiver);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the input reader panicked")));
        (read, run)
    });
    run_result?;
    let stats = read_result?;
    out.flush().context("writing output")?;
    progress.clear();
    report.summary.elapsed = started.elapsed();
    report.summary.files = stats.files;
    report.summary.digests_skipped = stats.digests_skipped;
    report.summary.invalid_times = stats.invalid_times;
    report.summary.first_invalid_time = stats.first_invalid_time;
    report.instantiations = host.instantiations();
    report.module_stderr = host.take_stderr();
    Ok(report)
}

fn source_label(source: &Source) -> String {
    match source {
        Source::Stdin => "standard input".into(),
        Source::File(p) => p.display().to_string(),
    }
}

/// A one-line progress display, redrawn at most a few times a second.
struct Progress {
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            last: None,
            drawn: false,
        }
    }

    fn tick(&mut self, summary: &Summary, started: Instant) {
        if !self.enabled || !summary.records.is_multiple_of(256) {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(250))
        {
            return;
        }
        self.last = Some(now);
        let secs = now.duration_since(started).as_secs_f64().max(1e-9);
        eprint!(
            "\r\x1b[K{} records, {} detections, {} lost, {:.0} records/s",
            summary.records,
            summary.detections(),
            summary.lost,
            summary.records as f64 / secs
        );
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[K");
            self.drawn = false;
        }
    }
}
