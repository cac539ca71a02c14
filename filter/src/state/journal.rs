//! The append-only journal that lets state survive a restart.
//!
//! Layout: a 32-byte header (magic, version, the key secret, CRC32), then fixed-size
//! 24-byte entries:
//!
//! ```text
//! 0      1     2..4      4..12      12..20      20..24
//! magic  kind  reserved  key (LE)   time (LE)   CRC32 of bytes 0..20
//! ```
//!
//! Fixed-size entries with their own magic byte and checksum make damage local: a
//! tail cut mid-write or garbage in the middle fails the checksum, the reader skips
//! byte by byte until the next entry that checks out, and everything valid is kept.
//! Each entry is written with a single `write` call on a file opened for append, so
//! a crash loses at most the entry being written.
//!
//! Kinds: `A` (rule A: key, last-seen second), `B` (rule B: key, UTC hour) and `M`
//! (the file was replaced by compaction; see [`Journal`]). A compacted journal is
//! also the state's one serialised form ([`encode_snapshot`], [`decode_snapshot`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::hash::KeyHasher;

pub const FILE_NAME: &str = "vpnrecon.journal";
pub const HEADER_LEN: usize = 32;
pub const ENTRY_LEN: usize = 24;
const HEADER_MAGIC: &[u8; 8] = b"VPNRJNL\x01";
const ENTRY_MAGIC: u8 = 0xA7;
const KIND_LAST_SEEN: u8 = b'A';
const KIND_HOUR_SEEN: u8 = b'B';
const KIND_MOVED: u8 = b'M';
/// How many damaged ranges the load warning lists before it abbreviates.
const RANGES_SHOWN: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Rule A: `time` is the key's last-seen event time (seconds).
    LastSeen,
    /// Rule B: `time` is the UTC hour (event time / 3600) the key was seen in.
    HourSeen,
    /// Appended by compaction to the file it replaced: entries after it belong in
    /// the file now at the path. Never reaches the state maps.
    Moved,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub key: u64,
    pub time: i64,
}

impl Entry {
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[0] = ENTRY_MAGIC;
        out[1] = match self.kind {
            Kind::LastSeen => KIND_LAST_SEEN,
            Kind::HourSeen => KIND_HOUR_SEEN,
            Kind::Moved => KIND_MOVED,
        };
        out[4..12].copy_from_slice(&self.key.to_le_bytes());
        out[12..20].copy_from_slice(&self.time.to_le_bytes());
        let crc = crc32(&out[..20]);
        out[20..24].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// The entry at the start of `bytes`, if a whole valid one is there.
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        let raw: &[u8; ENTRY_LEN] = bytes.get(..ENTRY_LEN)?.try_into().ok()?;
        if raw[0] != ENTRY_MAGIC || raw[2] != 0 || raw[3] != 0 {
            return None;
        }
        let kind = match raw[1] {
            KIND_LAST_SEEN => Kind::LastSeen,
            KIND_HOUR_SEEN => Kind::HourSeen,
            KIND_MOVED => Kind::Moved,
            _ => return None,
        };
        let stored = u32::from_le_bytes([raw[20], raw[21], raw[22], raw[23]]);
        if crc32(&raw[..20]) != stored {
            return None;
        }
        let key = u64::from_le_bytes(eight(&raw[4..12]));
        let time = i64::from_le_bytes(eight(&raw[12..20]));
        Some(Entry { kind, key, time })
    }
}

fn eight(bytes: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

fn encode_header(hasher: &KeyHasher) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..8].copy_from_slice(HEADER_MAGIC);
    out[8..24].copy_from_slice(&hasher.secret());
    let crc = crc32(&out[..24]);
    out[24..28].copy_from_slice(&crc.to_le_bytes());
    out
}

fn decode_header(bytes: &[u8]) -> Option<KeyHasher> {
    let raw: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
    if &raw[..8] != HEADER_MAGIC {
        return None;
    }
    let stored = u32::from_le_bytes([raw[24], raw[25], raw[26], raw[27]]);
    if crc32(&raw[..24]) != stored {
        return None;
    }
    let mut secret = [0u8; 16];
    secret.copy_from_slice(&raw[8..24]);
    Some(KeyHasher::from_secret(secret))
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bitwise: entries are
/// 20 bytes and written rarely, so a table buys nothing.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Where the journal for `dir` lives. `.` maps to the bare file name: under WASI a
/// relative path resolves against the directory the host pre-opened as `.`.
pub fn path_in(dir: &Path) -> PathBuf {
    if dir.as_os_str().is_empty() || dir == Path::new(".") {
        PathBuf::from(FILE_NAME)
    } else {
        dir.join(FILE_NAME)
    }
}

/// What reading an existing journal found.
#[derive(Debug, Default)]
pub struct Replay {
    pub entries: u64,
    pub corrupt_bytes: u64,
    /// Damaged byte ranges (file offsets), merged; only the first few are kept.
    pub corrupt_ranges: Vec<(u64, u64)>,
    pub more_ranges: bool,
}

impl Replay {
    fn mark_corrupt(&mut self, offset: u64, len: u64) {
        self.corrupt_bytes += len;
        self.push_range(offset, offset + len);
    }

    /// Lists a damaged range (merged with the previous one when adjacent).
    fn push_range(&mut self, from: u64, to: u64) {
        if let Some(last) = self.corrupt_ranges.last_mut() {
            if last.1 == from {
                last.1 = to;
                return;
            }
        }
        if self.corrupt_ranges.len() < RANGES_SHOWN {
            self.corrupt_ranges.push((from, to));
        } else {
            self.more_ranges = true;
        }
    }

    /// The one load warning, when anything was skipped.
    pub fn warning(&self, path: &Path) -> Option<String> {
        if self.corrupt_bytes == 0 {
            return None;
        }
        let ranges: Vec<String> = self
            .corrupt_ranges
            .iter()
            .map(|(a, b)| format!("{a}..{b}"))
            .collect();
        Some(format!(
            "vpnrecon: journal {}: skipped {} corrupt bytes at offsets {}{}, kept {} entries",
            path.display(),
            self.corrupt_bytes,
            ranges.join(", "),
            if self.more_ranges { ", ..." } else { "" },
            self.entries
        ))
    }
}

/// What one pass over a journal from some offset found.
struct Pass {
    replay: Replay,
    /// Offset just past the last whole entry (or damaged byte) read; anything after
    /// it is shorter than an entry: being written right now, or a cut tail.
    end: u64,
    /// Bytes after `end`.
    tail: u64,
    /// A [`Kind::Moved`] marker was read: the file was replaced at its path.
    moved: bool,
    /// Entries after the marker, to carry into the file now at the path.
    after_move: Vec<Entry>,
}

/// Most entries carried from a replaced file into its successor in one pass: only
/// entries appended in the moment a compaction replaces the file land there.
const MAX_CARRIED: usize = 1 << 16;

/// Reads the entries from `start`, resynchronising after damage. Every valid entry
/// except move markers goes to `visit`. Streams in chunks so a large journal does
/// not need a second copy in memory.
fn read_from<R: Read + Seek>(
    file: &mut R,
    start: u64,
    visit: &mut dyn FnMut(Entry),
) -> io::Result<Pass> {
    read_chunked(file, start, visit, 64 * 1024)
}

/// [`read_from`] reading `chunk_len` bytes at a time: small for the frequent look
/// at what others appended (usually nothing), large for a whole journal.
fn read_chunked<R: Read + Seek>(
    file: &mut R,
    start: u64,
    visit: &mut dyn FnMut(Entry),
    chunk_len: usize,
) -> io::Result<Pass> {
    file.seek(SeekFrom::Start(start))?;
    let mut pass = Pass {
        replay: Replay::default(),
        end: start,
        tail: 0,
        moved: false,
        after_move: Vec::new(),
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; chunk_len.max(ENTRY_LEN)];
    // File offset of buf[0].
    let mut base = start;
    let mut eof = false;
    loop {
        if !eof {
            let n = file.read(&mut chunk)?;
            if n == 0 {
                eof = true;
            } else {
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
        }
        let mut pos = 0usize;
        while buf.len().saturating_sub(pos) >= ENTRY_LEN {
            match buf.get(pos..).and_then(Entry::decode) {
                Some(Entry {
                    kind: Kind::Moved, ..
                }) => {
                    pass.moved = true;
                    pos += ENTRY_LEN;
                }
                Some(entry) => {
                    visit(entry);
                    pass.replay.entries += 1;
                    if pass.moved && pass.after_move.len() < MAX_CARRIED {
                        pass.after_move.push(entry);
                    }
                    pos += ENTRY_LEN;
                }
                None => {
                    pass.replay.mark_corrupt(base + pos as u64, 1);
                    pos += 1;
                }
            }
        }
        if eof {
            pass.end = base + pos as u64;
            pass.tail = buf.len().saturating_sub(pos) as u64;
            return Ok(pass);
        }
        buf.drain(..pos);
        base += pos as u64;
    }
}

/// An open journal, shared with any other instance that uses the same directory.
///
/// Several instances may append to one journal at once: each entry is one
/// `write` to a file opened for append, so entries never interleave. Before each
/// decision an instance reads what the others appended since it last looked
/// ([`Journal::sync`]), so one instance does not repeat an alert another has
/// raised. Compaction replaces the file by a rename; the compacting instance then
/// appends a [`Kind::Moved`] marker to the file it replaced and copies into the new
/// file every entry the old one received after its last look. An instance still
/// writing to the old file finds the marker at its next sync (one follows every
/// append), moves to the new file and carries over what it wrote after the marker.
/// A lock file keeps two instances from compacting at once.
pub struct Journal {
    path: PathBuf,
    file: File,
    hasher: KeyHasher,
    /// Valid entries in the current file, as far as read.
    entries: u64,
    /// Offset up to which the current file has been read.
    read_pos: u64,
    /// `entries` when another instance's compaction lock was first seen.
    lock_seen_at: Option<u64>,
}

/// The result of opening a journal: the secret to key with, what was replayed, and
/// the journal itself unless the directory could not be written.
pub struct Opened {
    pub hasher: KeyHasher,
    pub journal: Option<Journal>,
    pub replay: Replay,
    pub warnings: Vec<String>,
}

/// Bytes read at a time when looking for what other instances appended.
const SYNC_CHUNK: usize = 1024;

/// How many times one sync follows the journal to a newer file before giving up.
const MAX_MOVES: usize = 8;

fn read_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).append(true).open(path)
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, handing every valid entry to `visit`.
    /// Never fails: problems become warnings and, at worst, a memory-only state.
    pub fn open(dir: &Path, visit: &mut dyn FnMut(Entry)) -> Opened {
        let path = path_in(dir);
        let mut warnings = Vec::new();
        let memory_only = |warnings: Vec<String>| Opened {
            hasher: KeyHasher::random(),
            journal: None,
            replay: Replay::default(),
            warnings,
        };
        // Two attempts: a damaged file is moved aside, or another instance creates
        // the journal in the same moment, and the second attempt opens it.
        let mut opened = None;
        for _ in 0..2 {
            match read_append(&path) {
                Ok(mut file) => match read_header(&mut file) {
                    Ok(Some(hasher)) => {
                        opened = Some((file, hasher));
                        break;
                    }
                    Ok(None) => {
                        let aside = path.with_extension("journal.bad");
                        let moved = fs::rename(&path, &aside);
                        warnings.push(format!(
                            "vpnrecon: journal {}: header missing or damaged; {}starting a new journal",
                            path.display(),
                            if moved.is_ok() {
                                format!("moved it to {}, ", aside.display())
                            } else {
                                String::new()
                            }
                        ));
                    }
                    Err(e) => {
                        warnings.push(memory_only_warning(dir, &e));
                        return memory_only(warnings);
                    }
                },
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    // Not writable: keep what it holds in memory at least.
                    let restored = File::open(&path).ok().and_then(|mut file| {
                        let hasher = read_header(&mut file).ok()??;
                        let pass = read_from(&mut file, HEADER_LEN as u64, visit).ok()?;
                        Some((hasher, pass.replay))
                    });
                    warnings.push(memory_only_warning(dir, &e));
                    let (hasher, replay) =
                        restored.unwrap_or_else(|| (KeyHasher::random(), Replay::default()));
                    return Opened {
                        hasher,
                        journal: None,
                        replay,
                        warnings,
                    };
                }
            }
            let hasher = KeyHasher::random();
            match create_fresh(&path, &hasher) {
                Ok(file) => {
                    opened = Some((file, hasher));
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    warnings.push(memory_only_warning(dir, &e));
                    return memory_only(warnings);
                }
            }
        }
        let Some((file, hasher)) = opened else {
            warnings.push(memory_only_warning(
                dir,
                &io::Error::other("the journal kept changing while it was opened"),
            ));
            return memory_only(warnings);
        };
        let mut journal = Journal {
            path,
            file,
            hasher,
            entries: 0,
            read_pos: HEADER_LEN as u64,
            lock_seen_at: None,
        };
        let mut replay = Replay::default();
        match journal.sync_counting(visit, &mut replay) {
            Ok(tail) => {
                // A tail shorter than an entry at start-up is a cut write (or one
                // being made right now): reported, and left where it is.
                if tail > 0 {
                    replay.mark_corrupt(journal.read_pos, tail);
                }
                if let Some(w) = replay.warning(&journal.path) {
                    warnings.push(w);
                }
                Opened {
                    hasher,
                    journal: Some(journal),
                    replay,
                    warnings,
                }
            }
            Err(e) => {
                warnings.push(memory_only_warning(dir, &e));
                Opened {
                    hasher,
                    journal: None,
                    replay,
                    warnings,
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Appends one entry (a single write). Call [`Journal::sync`] after it: that is
    /// how an instance notices that its entry went to a file just replaced.
    pub fn append(&mut self, entry: Entry) -> io::Result<()> {
        self.file.write_all(&entry.encode())
    }

    /// Hands `visit` every entry appended (by any instance) since the last look,
    /// following the journal to its new file after a compaction.
    pub fn sync(&mut self, visit: &mut dyn FnMut(Entry)) -> io::Result<()> {
        self.sync_counting(visit, &mut Replay::default())
            .map(|_| ())
    }

    /// [`Journal::sync`], adding what was read to `replay`; returns the bytes of an
    /// incomplete entry at the end.
    fn sync_counting(
        &mut self,
        visit: &mut dyn FnMut(Entry),
        replay: &mut Replay,
    ) -> io::Result<u64> {
        for _ in 0..MAX_MOVES {
            // After a move the whole new file is read: then in large chunks.
            let chunk = if self.read_pos == HEADER_LEN as u64 {
                64 * 1024
            } else {
                SYNC_CHUNK
            };
            let pass = read_chunked(&mut self.file, self.read_pos, visit, chunk)?;
            self.entries += pass.replay.entries;
            self.read_pos = pass.end;
            replay.entries += pass.replay.entries;
            replay.corrupt_bytes += pass.replay.corrupt_bytes;
            for (from, to) in pass.replay.corrupt_ranges {
                replay.push_range(from, to);
            }
            replay.more_ranges |= pass.replay.more_ranges;
            if !pass.moved {
                return Ok(pass.tail);
            }
            // Another instance compacted the journal: continue in the new file and
            // carry over what reached the old one after it was replaced.
            self.reopen()?;
            for entry in pass.after_move {
                self.append(entry)?;
            }
        }
        Err(io::Error::other(
            "the journal was replaced too many times in a row",
        ))
    }

    /// Switches to the file now at the path, to be read from its first entry.
    fn reopen(&mut self) -> io::Result<()> {
        let mut file = read_append(&self.path)?;
        match read_header(&mut file)? {
            Some(hasher) if hasher == self.hasher => {}
            _ => {
                return Err(io::Error::other(
                    "the journal was replaced by one with another key secret",
                ))
            }
        }
        self.file = file;
        self.read_pos = HEADER_LEN as u64;
        self.entries = 0;
        Ok(())
    }

    pub fn lock_path(&self) -> PathBuf {
        self.path.with_extension("journal.lock")
    }

    /// Takes the compaction lock (`vpnrecon.journal.lock`, created exclusively).
    /// While another instance holds it this instance does not compact. A lock left
    /// by an instance that stopped mid-compaction is recognised by the journal
    /// having grown by `patience` entries since the lock was first seen (a real
    /// compaction takes milliseconds), and is then taken over.
    pub fn lock(&mut self, patience: u64) -> bool {
        let create = |path: &Path| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map(drop)
        };
        let lock = self.lock_path();
        match create(&lock) {
            Ok(()) => {
                self.lock_seen_at = None;
                true
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let seen = match self.lock_seen_at {
                    Some(seen) if seen <= self.entries => seen,
                    _ => self.entries,
                };
                self.lock_seen_at = Some(seen);
                if self.entries.saturating_sub(seen) <= patience {
                    return false;
                }
                let _ = fs::remove_file(&lock);
                self.lock_seen_at = None;
                create(&lock).is_ok()
            }
            Err(_) => false,
        }
    }

    pub fn unlock(&self) {
        let _ = fs::remove_file(self.lock_path());
    }

    /// Replaces the file with one holding `live` (written beside it under a name of
    /// its own, then renamed over it: an atomic replace within one directory, which
    /// WASI's `path_rename` allows inside a pre-opened directory), then marks the
    /// old file as moved and copies into the new one every entry the old file
    /// received after this instance's last look. Returns those entries (the caller
    /// has not seen them). Call it with the lock held, right after a sync.
    pub fn rewrite(&mut self, live: &mut dyn Iterator<Item = Entry>) -> io::Result<Vec<Entry>> {
        let tmp = unique_sibling(&self.path, "tmp");
        let written = (|| {
            let mut out =
                io::BufWriter::new(OpenOptions::new().write(true).create_new(true).open(&tmp)?);
            out.write_all(&encode_header(&self.hasher))?;
            for entry in live {
                out.write_all(&entry.encode())?;
            }
            out.flush()?;
            fs::rename(&tmp, &self.path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        self.append(Entry {
            kind: Kind::Moved,
            key: nonce(),
            time: 0,
        })?;
        let mut late = Vec::new();
        read_from(&mut self.file, self.read_pos, &mut |entry| {
            if late.len() < MAX_CARRIED {
                late.push(entry);
            }
        })?;
        self.reopen()?;
        for entry in &late {
            self.append(*entry)?;
        }
        Ok(late)
    }
}

/// `path` with `.<random>.<ext>` appended to its extension: a name no other
/// instance uses.
fn unique_sibling(path: &Path, ext: &str) -> PathBuf {
    path.with_extension(format!("journal.{:016x}.{ext}", nonce()))
}

fn nonce() -> u64 {
    let secret = KeyHasher::random().secret();
    u64::from_le_bytes(eight(secret.get(..8).unwrap_or_default()))
}

/// The key secret from the file's header; `None` when the header is missing or
/// damaged (an empty file counts as damaged too: a crash between create and the
/// header write).
fn read_header(file: &mut File) -> io::Result<Option<KeyHasher>> {
    file.seek(SeekFrom::Start(0))?;
    let mut header = [0u8; HEADER_LEN];
    let mut filled = 0;
    while filled < HEADER_LEN {
        let n = file.read(header.get_mut(filled..).unwrap_or_default())?;
        if n == 0 {
            return Ok(None);
        }
        filled += n;
    }
    Ok(decode_header(&header))
}

/// A new journal holding only its header. Written under a name of its own and
/// linked into place, so no instance ever sees a journal without its header, and
/// an instance that creates one in the same moment as another gets
/// `AlreadyExists` and opens the other's.
fn create_fresh(path: &Path, hasher: &KeyHasher) -> io::Result<File> {
    let tmp = unique_sibling(path, "new");
    let made = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(&encode_header(hasher))?;
        drop(file);
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
            // A host without links: a plain rename (which could replace a journal
            // another instance created in this very moment).
            Err(_) => fs::rename(&tmp, path),
        }
    })();
    let _ = fs::remove_file(&tmp);
    made?;
    read_append(path)
}

/// The state as one self-contained byte string: a journal header (the key secret)
/// followed by `entries` — exactly a compacted `vpnrecon.journal`. This is the one
/// serialised form of the state, for the journal and any other consumer.
pub fn encode_snapshot(hasher: &KeyHasher, entries: &mut dyn Iterator<Item = Entry>) -> Vec<u8> {
    let mut out = encode_header(hasher).to_vec();
    for entry in entries {
        out.extend_from_slice(&entry.encode());
    }
    out
}

/// Reads a snapshot (or a whole journal file): the key secret and every valid
/// entry; `None` when the header is missing or damaged.
pub fn decode_snapshot(bytes: &[u8], visit: &mut dyn FnMut(Entry)) -> Option<(KeyHasher, Replay)> {
    let hasher = decode_header(bytes.get(..HEADER_LEN)?)?;
    let mut cursor = io::Cursor::new(bytes);
    let pass = read_from(&mut cursor, HEADER_LEN as u64, visit).ok()?;
    let mut replay = pass.replay;
    if pass.tail > 0 {
        replay.mark_corrupt(pass.end, pass.tail);
    }
    Some((hasher, replay))
}

pub fn memory_only_warning(dir: &Path, error: &io::Error) -> String {
    format!(
        "vpnrecon: state_dir '{}' is not writable ({error}); keeping state in memory only \
         — alerts may repeat after a restart",
        dir.display()
    )
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The CRC-32/ISO-HDLC check value of "123456789".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn entries_round_trip_and_any_flipped_bit_is_rejected() {
        let entry = Entry {
            kind: Kind::HourSeen,
            key: 0x0123_4567_89ab_cdef,
            time: -5,
        };
        let bytes = entry.encode();
        assert_eq!(Entry::decode(&bytes), Some(entry));
        assert_eq!(Entry::decode(&bytes[..ENTRY_LEN - 1]), None);
        for bit in 0..ENTRY_LEN * 8 {
            let mut damaged = bytes;
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(Entry::decode(&damaged), None, "bit {bit}");
        }
    }

    #[test]
    fn header_keeps_the_secret() {
        let hasher = KeyHasher::random();
        assert_eq!(decode_header(&encode_header(&hasher)), Some(hasher));
        let mut damaged = encode_header(&hasher);
        damaged[10] ^= 0x40;
        assert_eq!(decode_header(&damaged), None);
    }

    #[test]
    fn dot_means_the_bare_file_name() {
        assert_eq!(path_in(Path::new(".")), PathBuf::from(FILE_NAME));
        assert_eq!(path_in(Path::new("")), PathBuf::from(FILE_NAME));
        assert_eq!(
            path_in(Path::new("/var/lib/vpnrecon")),
            PathBuf::from("/var/lib/vpnrecon/vpnrecon.journal")
        );
    }
}
