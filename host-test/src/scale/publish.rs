//! `vpnrecon publish`: CloudTrail files into the partitioned events stream.

use super::{connect, ensure_events_stream, keys, log, parse_duration, runtime, EVENTS_PREFIX};
use crate::input::{self, InputStats};
use anyhow::{Context, Result};
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::HeaderMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Publications awaited together: enough to keep the connection busy.
const IN_FLIGHT: usize = 512;

#[derive(clap::Args, Debug, Clone)]
pub struct PublishArgs {
    /// NATS server URL(s), comma-separated (e.g. nats://127.0.0.1:4222).
    #[arg(long)]
    pub nats: String,
    /// Partitions of a new stream; checked against an existing stream (a different
    /// value is refused). Optional when the stream exists.
    #[arg(long)]
    pub partitions: Option<u32>,
    /// Replicas of a new stream (3 for a 3-node cluster).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Duplicate window of a new stream: a re-run within it publishes nothing twice.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub dedup_window: Duration,
    /// .json, .ndjson, .gz of either, directories, or - for standard input.
    pub paths: Vec<PathBuf>,
}

/// What a run published.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Published {
    pub events: u64,
    /// Events the stream already held (same message id within the window).
    pub duplicates: u64,
    pub partitions: u32,
}

pub fn run(args: &PublishArgs) -> Result<Published> {
    let rt = runtime()?;
    let (client, js) = rt.block_on(connect(&args.nats))?;
    let partitions = rt.block_on(ensure_events_stream(
        &js,
        args.partitions,
        args.replicas,
        args.dedup_window,
    ))?;
    let started = Instant::now();
    let mut done = Published {
        partitions,
        ..Published::default()
    };
    let mut stats = InputStats::default();
    let sources = input::walk(&args.paths, &mut stats)?;
    let mut pending: Vec<PublishAckFuture> = Vec::with_capacity(IN_FLIGHT);
    for source in &sources {
        input::read_records(source, false, &mut stats, &mut |record, _time| {
            let account = keys::account_token(record);
            let partition = keys::partition_of(&account, partitions);
            let mut headers = HeaderMap::new();
            headers.insert(
                "Nats-Msg-Id",
                keys::header_safe(&keys::event_id(record)).as_str(),
            );
            let subject = format!("{EVENTS_PREFIX}.{partition}.{account}");
            let payload = bytes::Bytes::copy_from_slice(record);
            let ack = rt
                .block_on(js.publish_with_headers(subject, headers, payload))
                .context("publishing an event")?;
            pending.push(ack);
            if pending.len() >= IN_FLIGHT {
                rt.block_on(settle(&mut pending, &mut done))?;
            }
            Ok(())
        })
        .with_context(|| format!("publishing {}", source.display()))?;
    }
    rt.block_on(settle(&mut pending, &mut done))?;
    rt.block_on(client.flush())
        .context("flushing the connection")?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    log::info(
        "published",
        &[
            ("events", done.events.to_string()),
            ("duplicates", done.duplicates.to_string()),
            ("new", (done.events - done.duplicates).to_string()),
            ("partitions", partitions.to_string()),
            ("files", stats.files.to_string()),
            ("events_per_s", format!("{:.0}", done.events as f64 / secs)),
        ],
    );
    Ok(done)
}

/// Awaits every outstanding acknowledgement.
async fn settle(pending: &mut Vec<PublishAckFuture>, done: &mut Published) -> Result<()> {
    for ack in pending.drain(..) {
        let ack = ack
            .await
            .context("the server did not acknowledge an event (is JetStream enabled?)")?;
        done.events += 1;
        if ack.duplicate {
            done.duplicates += 1;
        }
    }
    Ok(())
}
