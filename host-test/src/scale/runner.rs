//! One owned partition: restore its state from the changelog, run one module
//! instance over its events in stream order, and per batch: evaluate → publish the
//! detections (message id from event id and rule) → commit the state delta and the
//! new position to the changelog → only then take the next batch.

use super::changelog::{Changelog, Delta, Fenced, JournalTail};
use super::{keys, log, DETECTIONS_PREFIX, EVENTS_PREFIX, EVENTS_STREAM};
use crate::host::{open, Backend, CallOutcome, FilterHost, HostOptions, Mode, RecordTime};
use anyhow::{anyhow, Context, Result};
use async_nats::jetstream;
use async_nats::HeaderMap;
use futures_util::StreamExt;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::runtime::Handle;

/// What the worker needs to start a partition.
#[derive(Clone)]
pub struct RunnerConfig {
    pub js: jetstream::Context,
    pub handle: Handle,
    pub worker: String,
    pub state_dir: PathBuf,
    /// Extra `vpnrecon.toml` text (the user's configuration).
    pub config_text: String,
    pub batch: usize,
    pub compact_every: u64,
    pub out: Option<Arc<Mutex<fs::File>>>,
    pub host: HostOptions,
    /// Replicas of the consumers this worker creates.
    pub replicas: usize,
}

/// Shared between a partition's thread and the worker.
#[derive(Default)]
pub struct Shared {
    pub stop: AtomicBool,
    pub finished: AtomicBool,
    /// Messages left on the partition after the last one received.
    pub pending: AtomicU64,
    /// Set once the partition's consumer reported nothing left.
    pub caught_up: AtomicBool,
    pub events: AtomicU64,
    pub detections: AtomicU64,
    pub duplicates: AtomicU64,
    pub lost: AtomicU64,
    pub error: Mutex<Option<String>>,
    pub fenced: AtomicBool,
}

/// Starts the thread for `partition`.
pub fn spawn(
    partition: u32,
    config: RunnerConfig,
) -> Result<(Arc<Shared>, std::thread::JoinHandle<()>)> {
    let shared = Arc::new(Shared::default());
    let mine = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name(format!("partition-{partition}"))
        .spawn(move || {
            let result = run(partition, &config, &mine);
            if let Err(e) = result {
                let fenced = e.downcast_ref::<Fenced>().is_some();
                mine.fenced.store(fenced, Ordering::SeqCst);
                log::warn(
                    if fenced {
                        "partition_fenced"
                    } else {
                        "partition_failed"
                    },
                    &[
                        ("partition", partition.to_string()),
                        ("error", format!("{e:#}")),
                    ],
                );
                if let Ok(mut slot) = mine.error.lock() {
                    *slot = Some(format!("{e:#}"));
                }
            }
            mine.finished.store(true, Ordering::SeqCst);
        })
        .context("starting a partition thread")?;
    Ok((shared, thread))
}

fn run(partition: u32, config: &RunnerConfig, shared: &Shared) -> Result<()> {
    let rt = &config.handle;
    let dir = config.state_dir.join(format!("p{partition}"));
    // The local directory is only a working copy: the changelog is the state.
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let toml = format!("journal_resolution = 0\n{}", config.config_text);
    fs::write(dir.join("vpnrecon.toml"), toml)
        .with_context(|| format!("writing {}", dir.join("vpnrecon.toml").display()))?;

    let (mut changelog, restored) = rt.block_on(Changelog::take_over(
        &config.js,
        partition,
        &config.worker,
        config.replicas,
    ))?;
    let journal_path = dir.join(vpnrecon_filter::state::JOURNAL_FILE_NAME);
    if !restored.journal.is_empty() {
        fs::write(&journal_path, &restored.journal)
            .with_context(|| format!("writing {}", journal_path.display()))?;
    }
    log::info(
        "partition_restored",
        &[
            ("partition", partition.to_string()),
            ("position", restored.position.to_string()),
            ("journal_bytes", restored.journal.len().to_string()),
            ("changelog_messages", restored.messages.to_string()),
        ],
    );
    let mut tail = JournalTail::new(&journal_path);
    let mut host_opts = config.host.clone();
    host_opts.mode = Mode::Alerts;
    host_opts.dir = Some(dir.clone());
    let mut host = open(Backend::Wasmtime, &host_opts)?;

    let mut position = restored.position;
    let stream = rt
        .block_on(config.js.get_stream(EVENTS_STREAM))
        .with_context(|| format!("opening stream {EVENTS_STREAM}"))?;
    let (consumer, mut messages) = rt.block_on(super::reader(
        &stream,
        format!("{EVENTS_PREFIX}.{partition}.*"),
        position + 1,
        config.replicas,
    ))?;
    let mut gapless = super::Gapless::default();
    let mut out = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        // A batch: wait a little for the first message, then take what is there.
        let mut batch: Vec<jetstream::Message> = Vec::with_capacity(config.batch);
        rt.block_on(async {
            let mut wait = Duration::from_millis(200);
            while batch.len() < config.batch {
                match tokio::time::timeout(wait, messages.next()).await {
                    Ok(Some(Ok(m))) => batch.push(m),
                    Ok(Some(Err(e))) => return Err(anyhow!("reading partition {partition}: {e}")),
                    Ok(None) => return Err(anyhow!("partition {partition}: consumer closed")),
                    Err(_) => break,
                }
                wait = Duration::from_millis(2);
            }
            Ok(())
        })?;
        if batch.is_empty() {
            // Nothing arrived for a while: ask the server what is left (a slow
            // delivery is not the end of the partition).
            let left = rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(2), consumer.get_info()).await
            });
            match left {
                Ok(Ok(info)) => {
                    shared.pending.store(info.num_pending, Ordering::SeqCst);
                    shared
                        .caught_up
                        .store(info.num_pending == 0, Ordering::SeqCst);
                }
                _ => shared.caught_up.store(false, Ordering::SeqCst),
            }
            continue;
        }
        if shared.stop.load(Ordering::SeqCst) {
            // Not applied: the next owner starts from the committed position.
            break;
        }
        let mut last_seq = position;
        let mut pending_left = 0;
        let mut detections: Vec<(String, Vec<u8>)> = Vec::new();
        for message in &batch {
            let info = message
                .info()
                .map_err(|e| anyhow!("partition {partition}: a message without metadata: {e}"))?;
            gapless.check(&info)?;
            if info.stream_sequence <= position {
                continue;
            }
            last_seq = info.stream_sequence;
            pending_left = info.pending;
            let time = RecordTime {
                sec: u32::try_from(info.published.unix_timestamp()).unwrap_or(0),
                nsec: info.published.nanosecond(),
            };
            shared.events.fetch_add(1, Ordering::Relaxed);
            match host.call(crate::DEFAULT_TAG, time, &message.payload, &mut out) {
                Ok(CallOutcome::Kept) => {
                    let id = detection_id(&message.payload, &out);
                    detections.push((id, out.clone()));
                }
                Ok(CallOutcome::Dropped) => {}
                Err(e) => {
                    shared.lost.fetch_add(1, Ordering::Relaxed);
                    log::warn(
                        "record_lost",
                        &[
                            ("partition", partition.to_string()),
                            ("seq", info.stream_sequence.to_string()),
                            ("error", e.to_string()),
                        ],
                    );
                }
            }
        }
        if last_seq == position {
            continue;
        }
        publish_detections(partition, config, shared, &detections)?;
        // The state delta and the position, together, before the next batch.
        let delta = tail.take().context("reading the module's journal")?;
        match delta {
            Delta::Replaced(all) => rt.block_on(changelog.snapshot(&all, last_seq))?,
            Delta::Appended(bytes) => rt.block_on(changelog.commit(bytes, last_seq))?,
            Delta::None => rt.block_on(changelog.commit(Vec::new(), last_seq))?,
        }
        if changelog.since_snapshot >= config.compact_every {
            let all = tail.whole().context("reading the module's journal")?;
            rt.block_on(changelog.snapshot(&all, last_seq))?;
        }
        position = last_seq;
        shared.pending.store(pending_left, Ordering::SeqCst);
        shared.caught_up.store(pending_left == 0, Ordering::SeqCst);
    }
    drop(host_capture(&mut host));
    Ok(())
}

/// Keeps the module's stderr out of the way (it writes there only on warnings).
fn host_capture(host: &mut Box<dyn FilterHost>) -> Vec<u8> {
    host.take_stderr()
}

/// `<eventID>:<rule id>` for one detection (the record's event id, the output's
/// `detection.rule.id`, or for a record of several events every rule that fired).
fn detection_id(record: &[u8], output: &[u8]) -> String {
    let event = keys::event_id(record);
    let value: Option<serde_json::Value> = serde_json::from_slice(output).ok();
    let detection = value.as_ref().and_then(|v| v.get("detection"));
    let rule = |d: &serde_json::Value| {
        d.get("rule")
            .and_then(|r| r.get("id"))
            .and_then(|r| r.as_str())
            .map(str::to_owned)
    };
    let rules = match detection {
        Some(d) => match rule(d) {
            Some(r) => r,
            None => d
                .get("events")
                .and_then(|e| e.as_array())
                .map(|events| {
                    events
                        .iter()
                        .filter_map(|e| {
                            let index = e.get("index").and_then(|i| i.as_u64())?;
                            Some(format!("{index}/{}", rule(e)?))
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
        },
        None => String::new(),
    };
    keys::header_safe(&format!("{event}:{rules}"))
}

fn id_header(id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", id);
    headers
}

/// One detection, retried while the stream is unavailable (a leader election).
async fn publish_retrying(
    js: &jetstream::Context,
    subject: &str,
    id: &str,
    record: &[u8],
) -> Result<async_nats::jetstream::publish::PublishAck> {
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        let sent = js
            .publish_with_headers(
                subject.to_owned(),
                id_header(id),
                bytes::Bytes::copy_from_slice(record),
            )
            .await;
        let outcome = match sent {
            Ok(f) => f.await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(ack) => return Ok(ack),
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                log::warn(
                    "detection_retry",
                    &[("subject", subject.to_owned()), ("error", e)],
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                return Err(anyhow!(
                    "publishing a detection to {subject} (retried for 30 s): {e}"
                ))
            }
        }
    }
}

/// Publishes the batch's detections and waits for every acknowledgement; those the
/// stream accepted as new go to `--out`.
fn publish_detections(
    partition: u32,
    config: &RunnerConfig,
    shared: &Shared,
    detections: &[(String, Vec<u8>)],
) -> Result<()> {
    if detections.is_empty() {
        return Ok(());
    }
    let subject = format!("{DETECTIONS_PREFIX}.{partition}");
    let acks = config.handle.block_on(async {
        let mut futures = Vec::with_capacity(detections.len());
        for (id, record) in detections {
            let sent = config
                .js
                .publish_with_headers(
                    subject.clone(),
                    id_header(id),
                    bytes::Bytes::copy_from_slice(record),
                )
                .await;
            futures.push(sent.ok());
        }
        let mut acks = Vec::with_capacity(futures.len());
        for ((id, record), future) in detections.iter().zip(futures) {
            let first = match future {
                Some(f) => f.await.ok(),
                None => None,
            };
            let ack = match first {
                Some(ack) => ack,
                None => publish_retrying(&config.js, &subject, id, record).await?,
            };
            acks.push(ack);
        }
        Ok::<_, anyhow::Error>(acks)
    })?;
    let mut lines = Vec::new();
    for ((_, record), ack) in detections.iter().zip(acks) {
        if ack.duplicate {
            shared.duplicates.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.detections.fetch_add(1, Ordering::Relaxed);
            lines.extend_from_slice(record);
            lines.push(b'\n');
        }
    }
    if let (Some(out), false) = (&config.out, lines.is_empty()) {
        let mut file = out
            .lock()
            .map_err(|_| anyhow!("the --out file lock is poisoned"))?;
        file.write_all(&lines)
            .and_then(|()| file.flush())
            .context("appending to --out")?;
    }
    Ok(())
}
