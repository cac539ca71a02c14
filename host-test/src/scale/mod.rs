//! Scale-out on NATS JetStream: `vpnrecon publish` loads CloudTrail into a stream
//! partitioned by account, `vpnrecon consume` runs one module instance per owned
//! partition, with leases in a key-value bucket and each partition's state in a
//! changelog stream, so that a partition and its first-seen history move together.
//! docs/SCALING.md describes the deployment, the partition rule and the guarantees.

pub mod changelog;
pub mod consume;
pub mod keys;
pub mod lease;
pub mod log;
pub mod publish;
mod runner;

use anyhow::{bail, Context, Result};
use async_nats::jetstream::{self, stream};
use std::time::Duration;

/// The events: one message per CloudTrail event on `vpnrecon.events.<partition>.<account>`.
pub const EVENTS_STREAM: &str = "VPNRECON_EVENTS";
pub const EVENTS_PREFIX: &str = "vpnrecon.events";
/// Each partition's state changelog on `vpnrecon.state.<partition>`.
pub const STATE_STREAM: &str = "VPNRECON_STATE";
pub const STATE_PREFIX: &str = "vpnrecon.state";
/// Detections (the annotated records) on `vpnrecon.detections.<partition>`.
pub const DETECTIONS_STREAM: &str = "VPNRECON_DETECTIONS";
pub const DETECTIONS_PREFIX: &str = "vpnrecon.detections";
/// Leases (`p.<partition>`) and live workers (`w.<worker id>`).
pub const LEASE_BUCKET: &str = "vpnrecon_leases";

/// Connects to `url` (comma-separated for several servers of a cluster).
pub async fn connect(url: &str) -> Result<(async_nats::Client, jetstream::Context)> {
    let servers: Vec<&str> = url
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connect(servers)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
    let mut js = jetstream::new(client.clone());
    js.set_timeout(Duration::from_secs(10));
    Ok((client, js))
}

/// Reads `filter` in stream order from sequence `start` (0: from the first).
///
/// A plain (not "ordered") consumer without acknowledgements, replicated like the
/// streams: an ordered consumer is a single-replica ephemeral that 2.9 may place on
/// a server that is down, and then cannot be created. Callers check that delivery
/// sequences have no gap ([`Gapless`]); they start again from their committed
/// position when one has.
pub async fn reader(
    stream: &stream::Stream,
    filter: String,
    start: u64,
    replicas: usize,
) -> Result<(
    jetstream::consumer::Consumer<jetstream::consumer::pull::Config>,
    jetstream::consumer::pull::Stream,
)> {
    use jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
    let deliver_policy = if start <= 1 {
        DeliverPolicy::All
    } else {
        DeliverPolicy::ByStartSequence {
            start_sequence: start,
        }
    };
    let consumer = stream
        .create_consumer(pull::Config {
            deliver_policy,
            ack_policy: AckPolicy::None,
            filter_subject: filter.clone(),
            inactive_threshold: Duration::from_secs(30),
            num_replicas: replicas,
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating a consumer for {filter}"))?;
    let messages = consumer
        .messages()
        .await
        .with_context(|| format!("reading {filter}"))?;
    Ok((consumer, messages))
}

/// Checks that delivery sequences follow each other (no message lost in flight).
#[derive(Default)]
pub struct Gapless(u64);

impl Gapless {
    pub fn check(&mut self, info: &jetstream::message::Info<'_>) -> Result<()> {
        if info.consumer_sequence != self.0 + 1 {
            bail!(
                "delivery sequence jumped from {} to {}: a message was lost in flight; \
                 starting again from the committed position",
                self.0,
                info.consumer_sequence
            );
        }
        self.0 = info.consumer_sequence;
        Ok(())
    }
}

/// Retries `op` for up to `patience` (a cluster electing a leader).
pub async fn patiently<T, F, Fut>(what: &str, patience: Duration, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let started = std::time::Instant::now();
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if started.elapsed() < patience => {
                log::warn(
                    "retry",
                    &[("what", what.to_owned()), ("error", format!("{e:#}"))],
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A runtime for the NATS client: two threads, so the client keeps its connection
/// (pings, lease renewals) while a partition's thread runs the module.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The description that carries the partition count (2.9 has no stream metadata).
fn events_description(partitions: u32) -> String {
    format!("vpnrecon CloudTrail events; partitions={partitions}; partition=fnv1a32(account)%{partitions}")
}

/// The partition count kept in the events stream's description.
pub fn partitions_of(info: &stream::Info) -> Result<u32> {
    let text = info.config.description.as_deref().unwrap_or("");
    text.split(';')
        .filter_map(|part| part.trim().strip_prefix("partitions="))
        .find_map(|n| n.parse::<u32>().ok())
        .filter(|n| *n > 0)
        .with_context(|| {
            format!(
                "stream {EVENTS_STREAM} has no partition count in its description ({text:?}): \
                 it was not created by `vpnrecon publish`; delete it or use another server"
            )
        })
}

/// Creates the events stream with `partitions`, or checks an existing one against it.
/// Returns the stream's partition count.
pub async fn ensure_events_stream(
    js: &jetstream::Context,
    partitions: Option<u32>,
    replicas: usize,
    dedup_window: Duration,
) -> Result<u32> {
    match js.get_stream(EVENTS_STREAM).await {
        Ok(mut existing) => {
            let info = existing
                .info()
                .await
                .with_context(|| format!("reading stream {EVENTS_STREAM}"))?;
            let have = partitions_of(info)?;
            if let Some(want) = partitions {
                if want != have {
                    bail!(
                        "stream {EVENTS_STREAM} was created with --partitions {have}, not {want}: \
                         the partition of an account cannot change under running workers; \
                         publish with --partitions {have} (or leave it out), or delete the \
                         stream and its state (VPNRECON_STATE) to start over"
                    );
                }
            }
            Ok(have)
        }
        Err(e)
            if matches!(e.kind(), jetstream::context::GetStreamErrorKind::JetStream(ref j)
                if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND) =>
        {
            let Some(n) = partitions else {
                bail!(
                    "stream {EVENTS_STREAM} does not exist yet: create it with \
                     `vpnrecon publish --nats URL --partitions N` (paths optional)"
                );
            };
            if n == 0 || n > 4096 {
                bail!("--partitions must be between 1 and 4096, not {n}");
            }
            js.create_stream(stream::Config {
                name: EVENTS_STREAM.into(),
                description: Some(events_description(n)),
                subjects: vec![format!("{EVENTS_PREFIX}.*.*")],
                num_replicas: replicas,
                duplicate_window: dedup_window,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating stream {EVENTS_STREAM}"))?;
            Ok(n)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("looking up stream {EVENTS_STREAM}"))),
    }
}

/// Parses `90`, `90s`, `15m`, `2h`, `1d` or `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: use e.g. 500ms, 15s, 10m, 2h or 1d"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86400.0,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}`: use ms, s, m, h or d"
            ))
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{text}` is out of range"))
}
