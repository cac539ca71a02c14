//! Partition leases and the list of live workers, in the key-value bucket
//! `vpnrecon_leases` whose max age is the lease timeout: a key not rewritten for
//! that long disappears, so a dead worker's partitions become free by themselves.
//!
//! Keys: `p.<partition>` = owning worker id, `w.<worker id>` = the worker's
//! heartbeat. A lease is taken with a create (fails if the key exists), renewed with
//! an update checked against the revision this worker last wrote (fails once the
//! key expired or someone else took it), and released with a delete checked the
//! same way.

use super::{log, LEASE_BUCKET};
use anyhow::{anyhow, Context, Result};
use async_nats::jetstream::{self, kv, stream};
use futures_util::TryStreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Leases {
    store: kv::Store,
    worker: String,
    /// Revision of this worker's heartbeat key.
    heartbeat: Option<u64>,
    /// Partitions held, with the revision last written.
    pub held: BTreeMap<u32, u64>,
    pub timeout: Duration,
}

impl Leases {
    /// Opens (or creates, with `timeout` as max age) the lease bucket.
    pub async fn open(
        js: &jetstream::Context,
        worker: &str,
        timeout: Duration,
        replicas: usize,
    ) -> Result<Leases> {
        let store = match js.get_key_value(LEASE_BUCKET).await {
            Ok(store) => store,
            Err(_) => {
                // The bucket's stream as `create_key_value` makes it; made directly
                // because that call first reads account limits in a form 2.9
                // servers do not send.
                js.get_or_create_stream(stream::Config {
                    name: format!("KV_{LEASE_BUCKET}"),
                    description: Some("vpnrecon partition leases".into()),
                    subjects: vec![format!("$KV.{LEASE_BUCKET}.>")],
                    max_messages_per_subject: 1,
                    max_age: timeout,
                    storage: stream::StorageType::File,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    num_replicas: replicas.max(1),
                    discard: stream::DiscardPolicy::New,
                    ..Default::default()
                })
                .await
                .with_context(|| format!("creating key-value bucket {LEASE_BUCKET}"))?;
                js.get_key_value(LEASE_BUCKET)
                    .await
                    .with_context(|| format!("opening key-value bucket {LEASE_BUCKET}"))?
            }
        };
        let status = store
            .status()
            .await
            .with_context(|| format!("reading bucket {LEASE_BUCKET}"))?;
        let max_age = status.info.config.max_age;
        let timeout = if max_age.is_zero() {
            timeout
        } else {
            if max_age != timeout {
                log::warn(
                    "lease_timeout_from_bucket",
                    &[
                        ("requested_s", format!("{:.1}", timeout.as_secs_f64())),
                        ("bucket_s", format!("{:.1}", max_age.as_secs_f64())),
                        (
                            "note",
                            "the bucket's max age is the lease timeout; delete the bucket to change it"
                                .into(),
                        ),
                    ],
                );
            }
            max_age
        };
        Ok(Leases {
            store,
            worker: worker.to_owned(),
            heartbeat: None,
            held: BTreeMap::new(),
            timeout,
        })
    }

    /// Writes (or renews) this worker's heartbeat.
    pub async fn heartbeat(&mut self) -> Result<()> {
        let key = format!("w.{}", self.worker);
        let value = bytes::Bytes::from(self.worker.clone());
        let revision = match self.heartbeat {
            Some(rev) => match self.store.update(&key, value.clone(), rev).await {
                Ok(rev) => rev,
                // Expired (a long pause): write it again.
                Err(_) => self
                    .store
                    .put(&key, value)
                    .await
                    .map_err(|e| anyhow!("{e}"))?,
            },
            None => self
                .store
                .put(&key, value)
                .await
                .map_err(|e| anyhow!("{e}"))?,
        };
        self.heartbeat = Some(revision);
        Ok(())
    }

    /// Live workers (heartbeats not expired) and each partition's owner, from the
    /// bucket's subjects and direct reads (no consumer: creating one can wait on a
    /// server that is down).
    pub async fn view(&self, partitions: u32) -> Result<(Vec<String>, BTreeMap<u32, String>)> {
        let subjects: Vec<(String, usize)> = self
            .store
            .stream
            .info_with_subjects(format!("$KV.{LEASE_BUCKET}.w.>"))
            .await
            .map_err(|e| anyhow!("listing {LEASE_BUCKET}: {e}"))?
            .try_collect()
            .await
            .map_err(|e| anyhow!("listing {LEASE_BUCKET}: {e}"))?;
        let mut workers = Vec::new();
        for (subject, _) in subjects {
            let Some(key) = subject.strip_prefix(&format!("$KV.{LEASE_BUCKET}.")) else {
                continue;
            };
            let live = self
                .store
                .get(key)
                .await
                .map_err(|e| anyhow!("reading {key}: {e}"))?;
            if live.is_some() {
                workers.push(key.trim_start_matches("w.").to_owned());
            }
        }
        let mut owners = BTreeMap::new();
        for p in 0..partitions {
            let key = format!("p.{p}");
            if let Some(value) = self
                .store
                .get(&key)
                .await
                .map_err(|e| anyhow!("reading {key}: {e}"))?
            {
                owners.insert(p, String::from_utf8_lossy(&value).into_owned());
            }
        }
        Ok((workers, owners))
    }

    /// Tries to take `partition`; false when someone holds it.
    pub async fn acquire(&mut self, partition: u32) -> Result<bool> {
        let key = format!("p.{partition}");
        match self
            .store
            .create(&key, bytes::Bytes::from(self.worker.clone()))
            .await
        {
            Ok(rev) => {
                self.held.insert(partition, rev);
                Ok(true)
            }
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(anyhow!("taking lease {key} in {LEASE_BUCKET}: {e}")),
        }
    }

    /// Renews every held lease; returns the partitions whose lease was lost.
    pub async fn renew(&mut self) -> Vec<u32> {
        let mut lost = Vec::new();
        let held: Vec<(u32, u64)> = self.held.iter().map(|(p, r)| (*p, *r)).collect();
        for (partition, rev) in held {
            let key = format!("p.{partition}");
            match self
                .store
                .update(&key, bytes::Bytes::from(self.worker.clone()), rev)
                .await
            {
                Ok(rev) => {
                    self.held.insert(partition, rev);
                }
                Err(e) => {
                    log::warn(
                        "lease_renew_failed",
                        &[
                            ("partition", partition.to_string()),
                            ("error", e.to_string()),
                        ],
                    );
                    self.held.remove(&partition);
                    lost.push(partition);
                }
            }
        }
        lost
    }

    /// Gives `partition` up (only if this worker still holds it).
    pub async fn release(&mut self, partition: u32) {
        if let Some(rev) = self.held.remove(&partition) {
            let key = format!("p.{partition}");
            if let Err(e) = self.store.delete_expect_revision(&key, Some(rev)).await {
                log::warn(
                    "lease_release_failed",
                    &[
                        ("partition", partition.to_string()),
                        ("error", e.to_string()),
                    ],
                );
            }
        }
    }

    /// Removes this worker's heartbeat (clean exit).
    pub async fn leave(&mut self) {
        let key = format!("w.{}", self.worker);
        let _ = self.store.delete(&key).await;
        self.heartbeat = None;
    }
}
