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
    /// Reading threads; 0 = two per core (at most [`MAX_READERS`]).
    pub readers: usize,
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
            readers: 0,
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

/// What a reading thread sends for one file: chunks of records, then how the file
/// ended (its counts, or why it could not be read).
enum Piece {
    Records(input::Chunk),
    Done(Result<InputStats>),
}

/// Chunks in flight from each reading thread (each about 256 KiB of input).
const CHUNKS_IN_FLIGHT: usize = 8;
/// Reading threads at most by default. Reading (inflate, split) costs more than the
/// module's own work per record, so the readers, not the host, set the pace.
pub const MAX_READERS: usize = 4;

/// Reading threads for `files` sources: `asked`, or two per core (at most
/// [`MAX_READERS`]); never more than there are files. Files are dealt to the threads
/// in turn and taken back in input order, so while the host waits for one thread's
/// file the others can only fill their channels and stop; with one thread per core a
/// core then idles. Measured on 2 cores (`vpnrecon bench`, 100,000 events, replay ÷
/// decompression): 2 threads 1.60–1.63x, 3 1.38–1.40x, 4 1.28–1.32x, 6 1.37–1.43x,
/// 8 1.45–1.47x.
fn reader_count(asked: usize, files: usize) -> usize {
    let threads = match asked {
        0 => thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_mul(2)
            .min(MAX_READERS),
        n => n,
    };
    threads.clamp(1, files.max(1))
}

/// Reads the sources `first`, `first + step`, ... in order and sends each file's
/// pieces; stops when the host has gone.
fn read_sources(
    sources: &[Source],
    first: usize,
    step: usize,
    batch: bool,
    sender: &mpsc::SyncSender<Piece>,
) {
    for source in sources.iter().skip(first).step_by(step) {
        let mut stats = InputStats::default();
        let read = input::read_chunks(source, batch, &mut stats, &mut |chunk| {
            // The receiver is gone only when the host side stopped early.
            sender
                .send(Piece::Records(chunk))
                .map_err(|_| anyhow::anyhow!("replay stopped"))
        })
        .with_context(|| format!("replaying {}", source_label(source)));
        if sender.send(Piece::Done(read.map(|()| stats))).is_err() {
            return;
        }
    }
}

/// Replays `paths` (files, directories, `-`) and writes the surviving records to `out`.
///
/// Reading (decompression, splitting, compaction) runs on reading threads, two per
/// core: thread `r` of `n` reads files `r`, `r + n`, ... and each sends its files'
/// records over its own bounded channel. The host stays on the calling thread (WAMR's
/// execution environment belongs to the thread that made it) and takes file `i` from
/// thread `i % n`, so records reach it in input order whatever the thread count.
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

    let readers = reader_count(opts.readers, sources.len());
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..readers)
        .map(|_| mpsc::sync_channel::<Piece>(CHUNKS_IN_FLIGHT))
        .unzip();
    let batch = opts.batch;
    let run_result = thread::scope(|scope| {
        let sources = &sources;
        let handles: Vec<_> = senders
            .into_iter()
            .enumerate()
            .map(|(first, sender)| {
                scope.spawn(move || read_sources(sources, first, readers, batch, &sender))
            })
            .collect();
        let run = (|| -> Result<()> {
            for (index, source) in sources.iter().enumerate() {
                let receiver = receivers
                    .get(index % readers)
                    .context("no reading thread for a file")?;
                let name = source.display();
                loop {
                    let piece = receiver
                        .recv()
                        .map_err(|_| anyhow::anyhow!("a reading thread stopped"))?;
                    let records = match piece {
                        Piece::Records(records) => records,
                        Piece::Done(read) => {
                            stats.add(read?);
                            break;
                        }
                    };
                    for (record, time) in records.records() {
                        let summary = &mut report.summary;
                        summary.records += 1;
                        let time = time.unwrap_or(last_time);
                        last_time = time;
                        match host.call(&opts.tag, time, record, &mut result) {
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
            }
            Ok(())
        })();
        // Unblock the readers if the host side stopped early.
        drop(receivers);
        let joined = handles.into_iter().map(|h| h.join()).collect::<Vec<_>>();
        if joined.iter().any(Result::is_err) {
            return Err(anyhow::anyhow!("an input reader panicked"));
        }
        run
    });
    run_result?;
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
