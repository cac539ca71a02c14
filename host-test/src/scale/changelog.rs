//! A partition's state in JetStream: the filter's own journal bytes
//! (`filter/src/state/journal.rs`: a 32-byte header with the key secret, then
//! 24-byte entries), kept on `vpnrecon.state.<partition>` in the stream
//! VPNRECON_STATE.
//!
//! Messages (header `Vpnrecon-Kind`):
//! - `entries`: bytes the module appended to its journal since the last commit;
//! - `snapshot`: the whole journal file, in parts (`Vpnrecon-Snapshot` id,
//!   `Vpnrecon-Part` i/n) when larger than one message; once every part is stored,
//!   everything older on the subject is purged (compaction);
//! - `takeover`: no bytes, written by a new owner to fence out the old one.
//!
//! Every message carries `Vpnrecon-Position`, the events-stream sequence up to which
//! the partition's events are applied: state and position are committed together.
//! Every publication is conditional on the subject's last sequence
//! (`Nats-Expected-Last-Subject-Sequence`), so once a new owner has written, an old
//! owner's next commit fails and it stops.
//!
//! Restoring: the last complete snapshot (or nothing), then every `entries` payload
//! after it, concatenated, is the journal file the module opens.

use super::{log, STATE_PREFIX, STATE_STREAM};
use anyhow::{anyhow, Context, Result};
use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use async_nats::HeaderMap;
use bytes::Bytes;
use futures_util::StreamExt;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest payload per message (the server's default max_payload is 1 MiB).
const PART_BYTES: usize = 512 * 1024;
/// How long a commit is retried (a cluster electing a new stream leader) before
/// the partition gives up and is released.
const COMMIT_PATIENCE: Duration = Duration::from_secs(30);

/// Another worker wrote to the changelog: this one no longer owns the partition.
#[derive(Debug)]
pub struct Fenced(pub String);

impl std::fmt::Display for Fenced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fenced: {}", self.0)
    }
}

impl std::error::Error for Fenced {}

/// Creates VPNRECON_STATE if missing.
pub async fn ensure_stream(js: &jetstream::Context, replicas: usize) -> Result<()> {
    js.get_or_create_stream(stream::Config {
        name: STATE_STREAM.into(),
        description: Some("vpnrecon partition state changelogs".into()),
        subjects: vec![format!("{STATE_PREFIX}.*")],
        num_replicas: replicas,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .with_context(|| format!("creating stream {STATE_STREAM}"))?;
    Ok(())
}

/// What the changelog held when a partition was taken over.
#[derive(Debug, Default)]
pub struct Restored {
    /// The journal file to hand the module.
    pub journal: Vec<u8>,
    /// Events-stream sequence up to which events are applied (0: none).
    pub position: u64,
    /// Messages read.
    pub messages: u64,
}

/// One partition's changelog, written by its owner.
pub struct Changelog {
    js: jetstream::Context,
    stream: stream::Stream,
    subject: String,
    owner: String,
    /// The subject's last sequence as this owner knows it (0: empty).
    last_seq: u64,
    /// Commits since the last snapshot.
    pub since_snapshot: u64,
}

impl Changelog {
    /// Reads the partition's changelog and fences out any previous owner.
    pub async fn take_over(
        js: &jetstream::Context,
        partition: u32,
        owner: &str,
        replicas: usize,
    ) -> Result<(Changelog, Restored)> {
        let stream = js
            .get_stream(STATE_STREAM)
            .await
            .with_context(|| format!("opening stream {STATE_STREAM}"))?;
        let subject = format!("{STATE_PREFIX}.{partition}");
        let (restored, last_seq) = restore(&stream, &subject, replicas).await?;
        let mut log = Changelog {
            js: js.clone(),
            stream,
            subject,
            owner: owner.to_owned(),
            last_seq,
            since_snapshot: restored.messages,
        };
        log.publish("takeover", Bytes::new(), restored.position, &[])
            .await?;
        Ok((log, restored))
    }

    /// Commits appended journal bytes (possibly none) with the new position.
    pub async fn commit(&mut self, bytes: Vec<u8>, position: u64) -> Result<()> {
        self.publish("entries", Bytes::from(bytes), position, &[])
            .await?;
        self.since_snapshot += 1;
        Ok(())
    }

    /// Writes the whole journal as a snapshot, then purges everything older.
    pub async fn snapshot(&mut self, journal: &[u8], position: u64) -> Result<()> {
        let parts: Vec<&[u8]> = if journal.is_empty() {
            vec![&[][..]]
        } else {
            journal.chunks(PART_BYTES).collect()
        };
        let id = format!("{}-{}", self.owner, self.last_seq);
        let mut first = None;
        for (i, part) in parts.iter().enumerate() {
            let meta = [
                ("Vpnrecon-Snapshot", id.clone()),
                ("Vpnrecon-Part", format!("{}/{}", i + 1, parts.len())),
            ];
            let seq = self
                .publish("snapshot", Bytes::copy_from_slice(part), position, &meta)
                .await?;
            first.get_or_insert(seq);
        }
        if let Some(first) = first {
            self.stream
                .purge()
                .filter(self.subject.clone())
                .sequence(first)
                .await
                .map_err(|e| anyhow!("compacting {}: purge failed: {e}", self.subject))?;
        }
        self.since_snapshot = 0;
        Ok(())
    }

    /// Publishes one message conditional on the subject's last sequence, retrying
    /// while the server is unreachable. Returns the message's sequence.
    async fn publish(
        &mut self,
        kind: &str,
        payload: Bytes,
        position: u64,
        extra: &[(&str, String)],
    ) -> Result<u64> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let mut headers = HeaderMap::new();
            headers.insert("Vpnrecon-Kind", kind);
            headers.insert("Vpnrecon-Position", position.to_string().as_str());
            headers.insert("Vpnrecon-Owner", self.owner.as_str());
            for (k, v) in extra {
                headers.insert(*k, v.as_str());
            }
            headers.insert(
                "Nats-Expected-Last-Subject-Sequence",
                self.last_seq.to_string().as_str(),
            );
            // Same owner, same predecessor: a retry of a publication that did land
            // is recognised as a duplicate instead of failing the sequence check.
            let id = format!("{}:{}:{}", self.owner, self.subject, self.last_seq);
            headers.insert("Nats-Msg-Id", id.as_str());
            let outcome = match self
                .js
                .publish_with_headers(self.subject.clone(), headers, payload.clone())
                .await
            {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(ack) => {
                    self.last_seq = ack.sequence;
                    return Ok(ack.sequence);
                }
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                    return Err(anyhow::Error::new(Fenced(format!(
                        "{} was written by another owner since sequence {}",
                        self.subject, self.last_seq
                    ))));
                }
                Err(e) if started.elapsed() < COMMIT_PATIENCE => {
                    log::warn(
                        "changelog_retry",
                        &[("subject", self.subject.clone()), ("error", e.to_string())],
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "writing the state of {} to stream {STATE_STREAM} (retried for {}s)",
                        self.subject,
                        COMMIT_PATIENCE.as_secs()
                    )))
                }
            }
        }
    }
}

/// Reads every message on `subject` in order and rebuilds the journal.
async fn restore(
    stream: &stream::Stream,
    subject: &str,
    replicas: usize,
) -> Result<(Restored, u64)> {
    let last = match stream.get_last_raw_message_by_subject(subject).await {
        Ok(m) => m.sequence,
        Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => {
            return Ok((Restored::default(), 0))
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("reading the last state message of {subject}")))
        }
    };
    let (_consumer, mut messages) = super::reader(stream, subject.to_owned(), 0, replicas).await?;
    let mut gapless = super::Gapless::default();
    let mut rebuild = Rebuild::default();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(30), messages.next())
        .await
        .with_context(|| format!("reading {subject}: no message for 30 s"))?
    {
        let message = message.map_err(|e| anyhow!("reading {subject}: {e}"))?;
        let info = message
            .info()
            .map_err(|e| anyhow!("reading {subject}: {e}"))?;
        gapless.check(&info)?;
        let seq = info.stream_sequence;
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
        };
        rebuild.add(
            header("Vpnrecon-Kind").as_deref().unwrap_or(""),
            header("Vpnrecon-Position")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
            header("Vpnrecon-Snapshot"),
            header("Vpnrecon-Part"),
            &message.payload,
        );
        if seq >= last {
            break;
        }
    }
    Ok((rebuild.finish(), last))
}

/// The restore rule, apart from I/O.
#[derive(Default)]
pub struct Rebuild {
    base: Vec<u8>,
    /// An incomplete snapshot: (id, parts, next part expected, bytes so far).
    pending: Option<(String, usize, usize, Vec<u8>)>,
    position: u64,
    messages: u64,
}

impl Rebuild {
    pub fn add(
        &mut self,
        kind: &str,
        position: u64,
        snapshot: Option<String>,
        part: Option<String>,
        payload: &[u8],
    ) {
        self.messages += 1;
        self.position = self.position.max(position);
        match kind {
            "entries" => {
                // A snapshot left unfinished by a crash is ignored: the entries it
                // would have replaced are still on the subject.
                self.pending = None;
                self.base.extend_from_slice(payload);
            }
            "snapshot" => {
                let id = snapshot.unwrap_or_default();
                let (i, n) = part
                    .as_deref()
                    .and_then(|p| p.split_once('/'))
                    .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
                    .unwrap_or((1, 1));
                let mut pending = match self.pending.take() {
                    Some(p) if i > 1 && p.0 == id && p.2 == i => p,
                    _ if i == 1 => (id, n, 1, Vec::new()),
                    _ => return,
                };
                pending.3.extend_from_slice(payload);
                pending.2 += 1;
                if pending.2 > pending.1 {
                    self.base = pending.3;
                } else {
                    self.pending = Some(pending);
                }
            }
            _ => {}
        }
    }

    pub fn finish(self) -> Restored {
        Restored {
            journal: self.base,
            position: self.position,
            messages: self.messages,
        }
    }
}

/// What the module wrote to its journal since the last look.
pub enum Delta {
    None,
    /// Bytes appended to the same file.
    Appended(Vec<u8>),
    /// The file was replaced (first created, or compacted by the module): all of it.
    Replaced(Vec<u8>),
}

/// Follows the module's journal file between batches (the module writes only
/// while this thread calls it, so the file is still when looked at).
pub struct JournalTail {
    path: PathBuf,
    inode: Option<u64>,
    offset: u64,
}

impl JournalTail {
    pub fn new(path: &Path) -> JournalTail {
        let meta = fs::metadata(path).ok();
        JournalTail {
            path: path.to_owned(),
            inode: meta.as_ref().map(MetadataExt::ino),
            offset: meta.map_or(0, |m| m.len()),
        }
    }

    pub fn take(&mut self) -> io::Result<Delta> {
        let meta = match fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Delta::None),
            Err(e) => return Err(e),
        };
        if Some(meta.ino()) != self.inode {
            let all = fs::read(&self.path)?;
            self.inode = Some(meta.ino());
            self.offset = all.len() as u64;
            return Ok(Delta::Replaced(all));
        }
        if meta.len() <= self.offset {
            return Ok(Delta::None);
        }
        let mut file = fs::File::open(&self.path)?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::with_capacity((meta.len() - self.offset) as usize);
        file.read_to_end(&mut bytes)?;
        self.offset += bytes.len() as u64;
        Ok(Delta::Appended(bytes))
    }

    /// The whole file as it is now (for a snapshot).
    pub fn whole(&self) -> io::Result<Vec<u8>> {
        match fs::read(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(r: &mut Rebuild, id: &str, part: &str, bytes: &[u8]) {
        r.add("snapshot", 5, Some(id.into()), Some(part.into()), bytes);
    }

    #[test]
    fn entries_concatenate_and_snapshots_replace() {
        let mut r = Rebuild::default();
        r.add("entries", 3, None, None, b"HDRab");
        r.add("takeover", 3, None, None, b"");
        r.add("entries", 4, None, None, b"c");
        snap(&mut r, "s1", "1/2", b"HDR");
        snap(&mut r, "s1", "2/2", b"abc");
        r.add("entries", 9, None, None, b"d");
        let out = r.finish();
        assert_eq!(out.journal, b"HDRabcd");
        assert_eq!(out.position, 9);
    }

    #[test]
    fn an_unfinished_snapshot_is_ignored() {
        let mut r = Rebuild::default();
        r.add("entries", 1, None, None, b"HDRa");
        snap(&mut r, "s1", "1/2", b"XXX");
        r.add("takeover", 1, None, None, b"");
        r.add("entries", 2, None, None, b"b");
        assert_eq!(r.finish().journal, b"HDRab");
    }
}
