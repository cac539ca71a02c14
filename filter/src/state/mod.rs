//! Detection state: rule A's last-seen times, rule B's hourly dedup, and the journal
//! that carries both across restarts.
//!
//! Persistence model. Older Fluent Bit releases create a new module instance per
//! chunk, so state is replayed from `vpnrecon.journal` (in `state_dir`) every time
//! an instance opens it. To keep writes rare, rule A journals a key when it is
//! created and when its last-seen time enters a new `journal_resolution` interval
//! (default one hour; 0 journals every advance); rule B journals each (key, hour)
//! once. After a restart a key's last-seen is therefore known to within
//! `journal_resolution`, and only ever *earlier* than the truth: that can cause one
//! extra alert when the key returns within that margin of the window's edge, never a
//! missed one.
//!
//! Nothing here fails: a directory that cannot be written, a damaged journal or an
//! I/O error part way through becomes one warning and memory-only state.

mod dedup;
mod hash;
mod journal;
mod lastseen;
mod recent_key;
mod table;

use std::path::{Path, PathBuf};

pub use hash::KeyHasher;
pub use journal::{Entry, Kind, FILE_NAME as JOURNAL_FILE_NAME};
pub use lastseen::{FirstSeen, LATE_ARRIVAL_MARGIN};

use dedup::HourDedup;
use journal::Journal;
use lastseen::LastSeen;
use recent_key::RecentKey;

/// The journal is compacted when it holds more entries than twice the live keys
/// plus this slack (so a small state is not rewritten over and over).
const COMPACT_SLACK: u64 = 4096;

/// The part of the configuration state needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateConfig {
    /// Rule A's history window, seconds.
    pub window_secs: i64,
    /// Cap on rule A keys, and separately on rule B (key, hour) entries.
    pub max_keys: usize,
    /// Rule A journals a key again when its last-seen enters a new interval of this
    /// many seconds; 0 = on every advance.
    pub journal_resolution_secs: i64,
}

impl Default for StateConfig {
    fn default() -> Self {
        use crate::config::{
            DEFAULT_JOURNAL_RESOLUTION_SECS, DEFAULT_MAX_KEYS, DEFAULT_WINDOW_SECS,
        };
        StateConfig {
            window_secs: DEFAULT_WINDOW_SECS,
            max_keys: DEFAULT_MAX_KEYS,
            journal_resolution_secs: DEFAULT_JOURNAL_RESOLUTION_SECS,
        }
    }
}

impl From<&crate::config::Config> for StateConfig {
    fn from(config: &crate::config::Config) -> Self {
        StateConfig {
            window_secs: config.window_secs,
            max_keys: config.max_keys,
            journal_resolution_secs: config.journal_resolution_secs,
        }
    }
}

/// Where warnings go: standard error in production, a buffer in tests.
pub type LogSink = Box<dyn FnMut(&str) + Send>;

/// Numbers for `vpnrecon_info`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateStats {
    pub identity_keys: usize,
    pub workload_keys: usize,
    /// Live entries evicted because a cap was reached (rule A and rule B).
    pub evicted: u64,
    /// Rule A keys dropped because they were too old to change any decision.
    pub expired: u64,
    pub journal: Option<String>,
    pub persistent: bool,
    pub journal_entries_loaded: u64,
    pub journal_corrupt_bytes: u64,
    /// Heap bytes of both maps divided by the keys they hold.
    pub bytes_per_key_estimate: usize,
    /// Every warning this state has emitted (at most a few).
    pub warnings: Vec<String>,
}

pub struct State {
    config: StateConfig,
    hasher: KeyHasher,
    /// Set once, with the hasher: keys are made under no other.
    recent_key: RecentKey,
    identities: LastSeen,
    workloads: HourDedup,
    journal: Option<Journal>,
    /// Kept after the journal is given up, for the stats.
    journal_path: Option<PathBuf>,
    entries_loaded: u64,
    corrupt_bytes: u64,
    warnings: Vec<String>,
    sink: LogSink,
}

fn stderr_sink() -> LogSink {
    Box::new(|line: &str| eprintln!("{line}"))
}

impl State {
    /// State that is never written anywhere.
    pub fn in_memory(config: StateConfig) -> State {
        State {
            config,
            hasher: KeyHasher::random(),
            recent_key: RecentKey::default(),
            identities: LastSeen::new(config.window_secs, config.max_keys),
            workloads: HourDedup::new(config.max_keys),
            journal: None,
            journal_path: None,
            entries_loaded: 0,
            corrupt_bytes: 0,
            warnings: Vec::new(),
            sink: stderr_sink(),
        }
    }

    /// State that is never written anywhere, keyed under `hasher`: for hosts where
    /// std has no random source (`wasm32-unknown-unknown`) and the caller draws the
    /// secret itself.
    pub fn in_memory_keyed(config: StateConfig, hasher: KeyHasher) -> State {
        let mut state = State::in_memory(config);
        state.set_hasher(hasher);
        state
    }

    /// State journalled in `dir`; warnings go to standard error.
    pub fn open(config: StateConfig, dir: &Path) -> State {
        State::open_with_sink(config, dir, stderr_sink())
    }

    /// As the configuration says: `state_dir = ""` keeps state in memory on purpose.
    pub fn open_configured(config: &crate::config::Config) -> State {
        if config.state_dir.is_empty() {
            return State::in_memory(StateConfig::from(config));
        }
        State::open(StateConfig::from(config), Path::new(&config.state_dir))
    }

    pub fn open_with_sink(config: StateConfig, dir: &Path, sink: LogSink) -> State {
        let mut state = State::in_memory(config);
        state.sink = sink;
        let identities = &mut state.identities;
        let workloads = &mut state.workloads;
        let opened = Journal::open(dir, &mut |entry| apply(identities, workloads, entry));
        state.set_hasher(opened.hasher);
        state.entries_loaded = opened.replay.entries;
        state.corrupt_bytes = opened.replay.corrupt_bytes;
        state.journal_path = Some(journal::path_in(dir));
        state.journal = opened.journal;
        for warning in opened.warnings {
            state.warn(warning);
        }
        // A damaged journal is rewritten clean at once, so its warning is not
        // repeated by every later instance.
        if state.corrupt_bytes > 0 || state.journal_oversized() {
            state.compact(state.corrupt_bytes > 0);
        }
        state
    }

    pub fn hasher(&self) -> &KeyHasher {
        &self.hasher
    }

    fn set_hasher(&mut self, hasher: KeyHasher) {
        self.hasher = hasher;
        self.recent_key = RecentKey::default();
    }

    /// `self.hasher().key(parts)`, reusing the last key when its parts are the same
    /// (the rules make a key for every candidate, mostly the same one in a row).
    #[inline(always)]
    pub fn key(&mut self, parts: &[&[u8]]) -> u64 {
        self.recent_key.key(&self.hasher, parts)
    }

    /// State with no journal, restored from [`State::snapshot`] bytes (keys keep
    /// working: the snapshot carries the key secret). `None` if the bytes are not
    /// a snapshot.
    pub fn from_snapshot(config: StateConfig, bytes: &[u8]) -> Option<State> {
        let mut state = State::in_memory(config);
        let identities = &mut state.identities;
        let workloads = &mut state.workloads;
        let (hasher, replay) =
            journal::decode_snapshot(bytes, &mut |entry| apply(identities, workloads, entry))?;
        state.set_hasher(hasher);
        state.entries_loaded = replay.entries;
        state.corrupt_bytes = replay.corrupt_bytes;
        Some(state)
    }

    /// The whole state in its one serialised form: the bytes of a compacted
    /// journal (key secret, then one entry per live key, exact times).
    pub fn snapshot(&self) -> Vec<u8> {
        let mut live = live_entries(&self.identities, &self.workloads);
        journal::encode_snapshot(&self.hasher, &mut live)
    }

    /// Rule A: is this candidate the first for `key` in the window before `t`?
    pub fn observe_identity(&mut self, key: u64, t: i64) -> FirstSeen {
        self.sync();
        let observed = self.identities.observe(key, t);
        let journal_at = if observed.created {
            Some(observed_time(t))
        } else {
            observed
                .moved
                .filter(|(old, new)| self.crosses_resolution(*old, *new))
                .map(|(_, new)| i64::from(new))
        };
        if let Some(time) = journal_at {
            self.append(Entry {
                kind: Kind::LastSeen,
                key,
                time,
            });
        }
        observed.first_seen
    }

    /// Rule B: `true` iff (`key`, `hour`) has not been seen, `hour` being
    /// `event_time.div_euclid(3600)`.
    pub fn observe_workload(&mut self, key: u64, hour: i64) -> bool {
        self.sync();
        let first = self.workloads.observe(key, hour);
        if first {
            self.append(Entry {
                kind: Kind::HourSeen,
                key,
                time: hour,
            });
        }
        first
    }

    /// What [`State::observe_identity`] would answer, changing nothing (entries that
    /// other instances appended since this one last looked are not read).
    pub fn peek_identity(&self, key: u64, t: i64) -> FirstSeen {
        self.identities.peek(key, t)
    }

    /// What [`State::observe_workload`] would answer, changing nothing.
    pub fn peek_workload(&self, key: u64, hour: i64) -> bool {
        !self.workloads.contains(key, hour)
    }

    pub fn stats(&self) -> StateStats {
        let keys = self.identities.len() + self.workloads.len();
        let bytes = self.identities.heap_bytes() + self.workloads.heap_bytes();
        StateStats {
            identity_keys: self.identities.len(),
            workload_keys: self.workloads.len(),
            evicted: self.identities.evicted + self.workloads.evicted,
            expired: self.identities.expired,
            journal: self.journal_path.as_ref().map(|p| p.display().to_string()),
            persistent: self.journal.is_some(),
            journal_entries_loaded: self.entries_loaded,
            journal_corrupt_bytes: self.corrupt_bytes,
            bytes_per_key_estimate: bytes.checked_div(keys).unwrap_or(0),
            warnings: self.warnings.clone(),
        }
    }

    fn crosses_resolution(&self, old: u32, new: u32) -> bool {
        let resolution = self.config.journal_resolution_secs;
        resolution <= 0 || i64::from(new) / resolution > i64::from(old) / resolution
    }

    /// Applies what other instances sharing the journal appended since the last
    /// look (and follows the journal after another instance compacted it).
    fn sync(&mut self) {
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        let identities = &mut self.identities;
        let workloads = &mut self.workloads;
        if let Err(e) = journal.sync(&mut |entry| apply(identities, workloads, entry)) {
            let warning = io_failure_warning(journal.path(), "read", &e);
            self.journal = None;
            self.warn(warning);
        }
    }

    fn append(&mut self, entry: Entry) {
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        if let Err(e) = journal.append(entry) {
            let warning = io_failure_warning(journal.path(), "write", &e);
            self.journal = None;
            self.warn(warning);
            return;
        }
        // Reading back after the write is how an entry that went to a file another
        // instance had just replaced is noticed and carried over.
        self.sync();
        if self.journal_oversized() {
            self.compact(false);
        }
    }

    fn journal_oversized(&self) -> bool {
        self.journal
            .as_ref()
            .is_some_and(|j| j.entries() > self.compaction_threshold())
    }

    fn compaction_threshold(&self) -> u64 {
        let live = (self.identities.len() + self.workloads.len()) as u64;
        2 * live + COMPACT_SLACK
    }

    /// Rewrites the journal with one entry per live key (and exact last-seen
    /// times), unless another instance is compacting it. `always`: even when it is
    /// not oversized (to rewrite damage away).
    fn compact(&mut self, always: bool) {
        let patience = self.compaction_threshold();
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        if !journal.lock(patience) {
            return;
        }
        let lock = journal.lock_path();
        // Another instance may have compacted it a moment ago.
        self.sync();
        if self.journal.is_none() {
            // Reading failed (already reported): do not leave the lock behind.
            let _ = std::fs::remove_file(lock);
            return;
        }
        if !always && !self.journal_oversized() {
            if let Some(journal) = self.journal.as_ref() {
                journal.unlock();
            }
            return;
        }
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        let mut live = live_entries(&self.identities, &self.workloads);
        let rewritten = journal.rewrite(&mut live);
        drop(live);
        journal.unlock();
        match rewritten {
            Ok(late) => {
                for entry in late {
                    apply(&mut self.identities, &mut self.workloads, entry);
                }
                self.sync();
            }
            Err(e) => {
                let warning = io_failure_warning(journal.path(), "compact", &e);
                self.journal = None;
                self.warn(warning);
            }
        }
    }

    fn warn(&mut self, line: String) {
        (self.sink)(&line);
        self.warnings.push(line);
    }
}

/// One journal entry into the maps (a replay: no decision is taken).
fn apply(identities: &mut LastSeen, workloads: &mut HourDedup, entry: Entry) {
    match entry.kind {
        Kind::LastSeen => identities.restore(entry.key, entry.time),
        Kind::HourSeen => {
            workloads.observe(entry.key, entry.time);
        }
        Kind::Moved => {}
    }
}

/// One entry per live key of both maps.
fn live_entries<'s>(
    identities: &'s LastSeen,
    workloads: &'s HourDedup,
) -> impl Iterator<Item = Entry> + 's {
    let identities = identities.entries().map(|(key, time)| Entry {
        kind: Kind::LastSeen,
        key,
        time,
    });
    let workloads = workloads.entries().map(|(key, time)| Entry {
        kind: Kind::HourSeen,
        key,
        time,
    });
    identities.chain(workloads)
}

/// The time a newly created key is journalled with, as stored (clamped).
fn observed_time(t: i64) -> i64 {
    i64::from(table::clamp_u32(t))
}

fn io_failure_warning(path: &Path, what: &str, error: &std::io::Error) -> String {
    format!(
        "vpnrecon: journal {}: {what} failed ({error}); keeping state in memory only \
         from now on — alerts may repeat after a restart",
        path.display()
    )
}

#[cfg(test)]
mod tests;
