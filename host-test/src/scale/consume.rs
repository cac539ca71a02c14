//! `vpnrecon consume`: a worker. It registers in the lease bucket, takes its fair
//! share of the partitions (ceil(partitions / live workers)), runs each owned
//! partition on its own thread ([`super::runner`]), renews its leases every poll
//! interval, gives partitions back when more workers join, and on SIGTERM or SIGINT
//! finishes the batch in hand, commits it, releases its leases and exits 0.

use super::runner::{self, RunnerConfig, Shared};
use super::{changelog, connect, lease::Leases, log, parse_duration, runtime, DETECTIONS_PREFIX};
use super::{DETECTIONS_STREAM, EVENTS_STREAM};
use crate::host::{HostOptions, Mode};
use crate::wasmtime_host::CompileCache;
use anyhow::{bail, Context, Result};
use async_nats::jetstream::{self, stream};
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};

#[derive(clap::Args, Debug, Clone)]
pub struct ConsumeArgs {
    /// NATS server URL(s), comma-separated (e.g. nats://127.0.0.1:4222).
    #[arg(long)]
    pub nats: String,
    /// This worker's name in the lease bucket (letters, digits, - and _).
    /// Default: <hostname>-<pid>.
    #[arg(long)]
    pub worker_id: Option<String>,
    /// Where the per-partition working copies of the state live (p<N>/ each;
    /// cleared on takeover: the changelog is the state). Default: a temporary directory.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// The module's configuration (vpnrecon.toml). `journal_resolution` is forced to 0:
    /// workers keep state exactly.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also append every detection the stream accepted as new to FILE (NDJSON).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit cleanly once, for this long, every partition had an owner and none of
    /// this worker's partitions had pending events (e.g. 5s).
    #[arg(long, value_parser = parse_duration)]
    pub exit_when_idle: Option<Duration>,
    /// Lease timeout (max age of the lease bucket when this worker creates it; an
    /// existing bucket's value wins). A dead worker's partitions move after this
    /// plus one poll interval.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub lease_timeout: Duration,
    /// How often leases are renewed and the assignment is looked at (at most a
    /// third of the lease timeout).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Most events per batch (one state commit per batch).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Compact a partition's changelog into a snapshot after this many commits.
    #[arg(long, default_value_t = 1000)]
    pub compact_every: u64,
    /// Most partitions this worker owns (default: its fair share).
    #[arg(long)]
    pub max_partitions: Option<usize>,
    /// Interval of the stats line.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub stats_every: Duration,
    /// Replicas of the streams and bucket this worker creates (3 on a 3-node cluster).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Duplicate window of the detections stream when this worker creates it: a
    /// detection re-published within it is recognised as a duplicate.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub detections_dedup_window: Duration,
    /// Where wasmtime keeps the compiled module (default as for `replay`).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// What a worker did, for its caller.
#[derive(Debug, Default, Clone)]
pub struct WorkerTotals {
    pub events: u64,
    pub detections: u64,
    pub duplicates: u64,
    pub lost: u64,
}

struct Running {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// Giving it back (rebalance or shutdown) rather than having lost it.
    releasing: bool,
}

pub fn run(args: &ConsumeArgs) -> Result<WorkerTotals> {
    if args.poll_interval.is_zero() || args.poll_interval * 3 > args.lease_timeout {
        bail!(
            "--poll-interval ({:?}) must be non-zero and at most a third of --lease-timeout ({:?}): \
             leases are renewed once per poll",
            args.poll_interval,
            args.lease_timeout
        );
    }
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let rt = runtime()?;
    let handle = rt.handle().clone();
    rt.block_on(work(args, handle))
}

fn worker_id(args: &ConsumeArgs) -> Result<String> {
    let id = match &args.worker_id {
        Some(id) => id.clone(),
        None => {
            let host = fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "worker".into());
            format!("{host}-{}", std::process::id())
        }
    };
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        bail!("--worker-id must not be empty");
    }
    Ok(clean)
}

async fn ensure_detections_stream(
    js: &jetstream::Context,
    replicas: usize,
    window: Duration,
) -> Result<()> {
    js.get_or_create_stream(stream::Config {
        name: DETECTIONS_STREAM.into(),
        description: Some("vpnrecon detections (annotated records)".into()),
        subjects: vec![format!("{DETECTIONS_PREFIX}.*")],
        num_replicas: replicas,
        duplicate_window: window,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .with_context(|| format!("creating stream {DETECTIONS_STREAM}"))?;
    Ok(())
}

async fn work(args: &ConsumeArgs, handle: tokio::runtime::Handle) -> Result<WorkerTotals> {
    let worker = worker_id(args)?;
    let (client, js) = connect(&args.nats).await?;
    let mut events = js.get_stream(EVENTS_STREAM).await.with_context(|| {
        format!(
            "stream {EVENTS_STREAM} not found on {}: create it with `vpnrecon publish --nats URL --partitions N`",
            args.nats
        )
    })?;
    let partitions = super::partitions_of(
        events
            .info()
            .await
            .with_context(|| format!("reading stream {EVENTS_STREAM}"))?,
    )?;
    let patience = Duration::from_secs(60);
    super::patiently("creating the state stream", patience, || {
        changelog::ensure_stream(&js, args.replicas)
    })
    .await?;
    super::patiently("creating the detections stream", patience, || {
        ensure_detections_stream(&js, args.replicas, args.detections_dedup_window)
    })
    .await?;
    let mut leases = super::patiently("opening the lease bucket", patience, || {
        Leases::open(&js, &worker, args.lease_timeout, args.replicas)
    })
    .await?;
    let poll = args.poll_interval.min(leases.timeout / 3);

    let temp;
    let state_dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary state directory")?;
            temp.path().to_path_buf()
        }
    };
    fs::create_dir_all(&state_dir).with_context(|| format!("creating {}", state_dir.display()))?;
    let config_text = match &args.config {
        Some(path) => {
            let text =
                fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            if text
                .lines()
                .any(|l| l.trim_start().starts_with("journal_resolution"))
            {
                bail!(
                    "{}: remove journal_resolution: workers keep state exactly (it is set to 0)",
                    path.display()
                );
            }
            text
        }
        None => String::new(),
    };
    let out = match &args.out {
        Some(path) => Some(Arc::new(Mutex::new(
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?,
        ))),
        None => None,
    };
    let mut host = HostOptions::new(Mode::Alerts);
    host.compile_cache = match &args.cache_dir {
        Some(dir) => CompileCache::Dir(dir.clone()),
        None => CompileCache::Default,
    };
    let config = RunnerConfig {
        js: js.clone(),
        handle,
        worker: worker.clone(),
        state_dir,
        config_text,
        batch: args.batch,
        compact_every: args.compact_every.max(1),
        out,
        host,
        replicas: args.replicas,
    };
    log::info(
        "worker_started",
        &[
            ("worker", worker.clone()),
            ("partitions", partitions.to_string()),
            (
                "lease_timeout_s",
                format!("{:.1}", leases.timeout.as_secs_f64()),
            ),
            ("poll_s", format!("{:.1}", poll.as_secs_f64())),
            (
                "takeover_bound_s",
                format!("{:.1}", (leases.timeout + poll).as_secs_f64()),
            ),
        ],
    );

    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    // A bucket just created on a cluster takes a moment to elect its leader.
    let registering = Instant::now();
    while let Err(e) = leases.heartbeat().await {
        if registering.elapsed() > Duration::from_secs(30) {
            return Err(e.context(format!("registering in bucket {}", super::LEASE_BUCKET)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut running: BTreeMap<u32, Running> = BTreeMap::new();
    let mut totals = WorkerTotals::default();
    let mut idle_since: Option<Instant> = None;
    let started = Instant::now();
    let mut last_stats = (Instant::now(), 0u64);
    let mut first = true;
    let reason;
    loop {
        // The first look waits one poll, so workers started together see each other.
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = term.recv() => { reason = "sigterm"; break; }
            _ = int.recv() => { reason = "sigint"; break; }
        }
        if let Err(e) = leases.heartbeat().await {
            log::warn("heartbeat_failed", &[("error", format!("{e:#}"))]);
        }
        for partition in leases.renew().await {
            log::warn("lease_lost", &[("partition", partition.to_string())]);
            if let Some(r) = running.get(&partition) {
                r.shared.stop.store(true, Ordering::SeqCst);
            }
        }
        reap(&mut running, &mut leases, &mut totals).await;
        let view = tokio::time::timeout(poll * 2, leases.view(partitions)).await;
        let (workers, owners) = match view.unwrap_or_else(|_| Err(anyhow::anyhow!("timed out"))) {
            Ok(v) => v,
            Err(e) => {
                log::warn("lease_view_failed", &[("error", format!("{e:#}"))]);
                continue;
            }
        };
        let live = workers.len().max(1);
        let mut fair = (partitions as usize).div_ceil(live);
        if let Some(cap) = args.max_partitions {
            fair = fair.min(cap);
        }
        let active: Vec<u32> = running
            .iter()
            .filter(|(_, r)| !r.releasing && !r.shared.stop.load(Ordering::SeqCst))
            .map(|(p, _)| *p)
            .collect();
        if active.len() < fair && !first {
            let mut wanted = fair - active.len();
            for partition in 0..partitions {
                if wanted == 0 {
                    break;
                }
                if owners.contains_key(&partition) || running.contains_key(&partition) {
                    continue;
                }
                match leases.acquire(partition).await {
                    Ok(true) => {
                        log::info(
                            "lease_acquired",
                            &[
                                ("partition", partition.to_string()),
                                ("worker", worker.clone()),
                            ],
                        );
                        match runner::spawn(partition, config.clone()) {
                            Ok((shared, thread)) => {
                                running.insert(
                                    partition,
                                    Running {
                                        shared,
                                        thread: Some(thread),
                                        releasing: false,
                                    },
                                );
                                wanted -= 1;
                            }
                            Err(e) => {
                                log::warn("partition_start_failed", &[("error", format!("{e:#}"))]);
                                leases.release(partition).await;
                            }
                        }
                    }
                    Ok(false) => {}
                    Err(e) => log::warn("lease_acquire_failed", &[("error", format!("{e:#}"))]),
                }
            }
        } else if active.len() > fair {
            if let Some(partition) = active.last() {
                log::info(
                    "partition_handing_back",
                    &[
                        ("partition", partition.to_string()),
                        ("fair_share", fair.to_string()),
                    ],
                );
                if let Some(r) = running.get_mut(partition) {
                    r.releasing = true;
                    r.shared.stop.store(true, Ordering::SeqCst);
                }
            }
        }
        first = false;

        if let Some(limit) = args.exit_when_idle {
            let all_owned = (0..partitions).all(|p| owners.contains_key(&p));
            let mine_idle = running.values().all(|r| {
                r.shared.caught_up.load(Ordering::SeqCst)
                    && r.shared.pending.load(Ordering::SeqCst) == 0
            });
            if all_owned && mine_idle {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= limit {
                    reason = "idle";
                    break;
                }
            } else {
                idle_since = None;
            }
        }
        if last_stats.0.elapsed() >= args.stats_every {
            let now_events = totals.events + running_sum(&running, |s| &s.events);
            let secs = last_stats.0.elapsed().as_secs_f64().max(1e-9);
            stats_line(
                &running,
                &totals,
                now_events,
                (now_events - last_stats.1) as f64 / secs,
            );
            last_stats = (Instant::now(), now_events);
        }
    }

    // Shutdown: every partition finishes its batch and commits, then is released.
    log::info(
        "worker_stopping",
        &[("worker", worker.clone()), ("reason", reason.into())],
    );
    for r in running.values_mut() {
        r.releasing = true;
        r.shared.stop.store(true, Ordering::SeqCst);
    }
    let mut last_renew = Instant::now();
    while !running.is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if last_renew.elapsed() >= poll {
            leases.renew().await;
            last_renew = Instant::now();
        }
        reap(&mut running, &mut leases, &mut totals).await;
    }
    leases.leave().await;
    client.flush().await.context("flushing the connection")?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    log::info(
        "worker_stopped",
        &[
            ("worker", worker),
            ("reason", reason.into()),
            ("events", totals.events.to_string()),
            ("detections", totals.detections.to_string()),
            ("duplicates", totals.duplicates.to_string()),
            ("lost", totals.lost.to_string()),
            (
                "events_per_s",
                format!("{:.0}", totals.events as f64 / secs),
            ),
        ],
    );
    Ok(totals)
}

fn running_sum(
    running: &BTreeMap<u32, Running>,
    field: impl Fn(&Shared) -> &std::sync::atomic::AtomicU64,
) -> u64 {
    running
        .values()
        .map(|r| field(&r.shared).load(Ordering::Relaxed))
        .sum()
}

fn stats_line(running: &BTreeMap<u32, Running>, totals: &WorkerTotals, events: u64, rate: f64) {
    let lag: Vec<String> = running
        .iter()
        .map(|(p, r)| {
            let caught = r.shared.caught_up.load(Ordering::Relaxed);
            let pending = r.shared.pending.load(Ordering::Relaxed);
            if caught || pending > 0 {
                format!("p{p}:{pending}")
            } else {
                format!("p{p}:starting")
            }
        })
        .collect();
    log::info(
        "stats",
        &[
            ("events", events.to_string()),
            ("events_per_s", format!("{rate:.0}")),
            ("lag", lag.join(",")),
            (
                "detections",
                (totals.detections + running_sum(running, |s| &s.detections)).to_string(),
            ),
            (
                "duplicates",
                (totals.duplicates + running_sum(running, |s| &s.duplicates)).to_string(),
            ),
        ],
    );
}

/// Joins finished partition threads; releases the lease of those given back or
/// failed (a fenced one was taken by someone else: nothing to release).
async fn reap(
    running: &mut BTreeMap<u32, Running>,
    leases: &mut Leases,
    totals: &mut WorkerTotals,
) {
    let done: Vec<u32> = running
        .iter()
        .filter(|(_, r)| r.shared.finished.load(Ordering::SeqCst))
        .map(|(p, _)| *p)
        .collect();
    for partition in done {
        let Some(mut r) = running.remove(&partition) else {
            continue;
        };
        if let Some(thread) = r.thread.take() {
            let _ = thread.join();
        }
        let s = &r.shared;
        totals.events += s.events.load(Ordering::Relaxed);
        totals.detections += s.detections.load(Ordering::Relaxed);
        totals.duplicates += s.duplicates.load(Ordering::Relaxed);
        totals.lost += s.lost.load(Ordering::Relaxed);
        let error = s.error.lock().ok().and_then(|e| e.clone());
        if s.fenced.load(Ordering::SeqCst) {
            leases.held.remove(&partition);
        } else {
            leases.release(partition).await;
        }
        log::info(
            "partition_stopped",
            &[
                ("partition", partition.to_string()),
                ("released", (!s.fenced.load(Ordering::SeqCst)).to_string()),
                ("error", error.unwrap_or_default()),
            ],
        );
    }
}
