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

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::hash::KeyHasher;

pub const FILE_NAME: &str = "vpnrecon.journal";
pub const HEADER_LEN: usize = 32;
pub const ENTRY_LEN: usize = 24;
const HEADER_MAGIC: &[u8; 8] = b"VPNRJNL\x01";
const ENTRY_MAGIC: u8 = 0xA7;
const KIND_LAST_SEEN: u8 = b'A';
const KIND_HOUR_SEEN: u8 = b'B';
/// How many damaged ranges the load warning lists before it abbreviates.
const RANGES_SHOWN: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Rule A: `time` is the key's last-seen event time (seconds).
    LastSeen,
    /// Rule B: `time` is the UTC hour (event time / 3600) the key was seen in.
    HourSeen,
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
        if let Some(last) = self.corrupt_ranges.last_mut() {
            if last.1 == offset {
                last.1 = offset + len;
                return;
            }
        }
        if self.corrupt_ranges.len() < RANGES_SHOWN {
            self.corrupt_ranges.push((offset, offset + len));
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

/// Reads the entries after the header, resynchronising after damage. Streams the
/// file in chunks so a large journal does not need a second copy in memory.
fn replay_entries(file: &mut File, visit: &mut dyn FnMut(Entry)) -> io::Result<Replay> {
    let mut replay = Replay::default();
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    // File offset of buf[0].
    let mut base = HEADER_LEN as u64;
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
                Some(entry) => {
                    visit(entry);
                    replay.entries += 1;
                    pos += ENTRY_LEN;
                }
                None => {
                    replay.mark_corrupt(base + pos as u64, 1);
                    pos += 1;
                }
            }
        }
        if eof {
            let rest = buf.len().saturating_sub(pos) as u64;
            if rest > 0 {
                replay.mark_corrupt(base + pos as u64, rest);
            }
            return Ok(replay);
        }
        buf.drain(..pos);
        base += pos as u64;
    }
}

/// An open journal, ready for appends.
pub struct Journal {
    path: PathBuf,
    file: File,
    hasher: KeyHasher,
    /// Entries in the file (valid ones read at load plus those appended since).
    entries: u64,
}

/// The result of opening a journal: the secret to key with, what was replayed, and
/// the journal itself unless the directory could not be written.
pub struct Opened {
    pub hasher: KeyHasher,
    pub journal: Option<Journal>,
    pub replay: Replay,
    pub warnings: Vec<String>,
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, handing every valid entry to `visit`.
    /// Never fails: problems become warnings and, at worst, a memory-only state.
    pub fn open(dir: &Path, visit: &mut dyn FnMut(Entry)) -> Opened {
        let path = path_in(dir);
        let mut warnings = Vec::new();
        let mut replay = Replay::default();
        let existing = match File::open(&path) {
            Ok(mut file) => match read_existing(&mut file, visit) {
                Ok(Some((hasher, found))) => {
                    replay = found;
                    if let Some(w) = replay.warning(&path) {
                        warnings.push(w);
                    }
                    Some(hasher)
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
                    None
                }
                Err(e) => {
                    warnings.push(memory_only_warning(dir, &e));
                    return Opened {
                        hasher: KeyHasher::random(),
                        journal: None,
                        replay,
                        warnings,
                    };
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                warnings.push(memory_only_warning(dir, &e));
                return Opened {
                    hasher: KeyHasher::random(),
                    journal: None,
                    replay,
                    warnings,
                };
            }
        };
        let (hasher, file) = match existing {
            Some(hasher) => (hasher, OpenOptions::new().append(true).open(&path)),
            None => {
                let hasher = KeyHasher::random();
                (hasher, create_with_header(&path, &hasher))
            }
        };
        let journal = match file {
            Ok(file) => Some(Journal {
                path,
                file,
                hasher,
                entries: replay.entries,
            }),
            Err(e) => {
                warnings.push(memory_only_warning(dir, &e));
                None
            }
        };
        Opened {
            hasher,
            journal,
            replay,
            warnings,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    pub fn append(&mut self, entry: Entry) -> io::Result<()> {
        self.file.write_all(&entry.encode())?;
        self.entries += 1;
        Ok(())
    }

    /// Replaces the file with one holding only `live`: written beside it, then
    /// renamed over it (an atomic replace within one directory, which WASI's
    /// `path_rename` allows inside a pre-opened directory).
    pub fn rewrite(&mut self, live: &mut dyn Iterator<Item = Entry>) -> io::Result<()> {
        let tmp = self.path.with_extension("journal.tmp");
        let mut out = io::BufWriter::new(create_with_header(&tmp, &self.hasher)?);
        let mut count = 0u64;
        for entry in live {
            out.write_all(&entry.encode())?;
            count += 1;
        }
        out.flush()?;
        drop(out);
        fs::rename(&tmp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.entries = count;
        Ok(())
    }
}

/// `Ok(None)` when the file has no valid header (an empty file counts as damaged
/// too: a crash between create and the header write).
fn read_existing(
    file: &mut File,
    visit: &mut dyn FnMut(Entry),
) -> io::Result<Option<(KeyHasher, Replay)>> {
    let mut header = [0u8; HEADER_LEN];
    let mut filled = 0;
    while filled < HEADER_LEN {
        let n = file.read(header.get_mut(filled..).unwrap_or_default())?;
        if n == 0 {
            return Ok(None);
        }
        filled += n;
    }
    let Some(hasher) = decode_header(&header) else {
        return Ok(None);
    };
    let replay = replay_entries(file, visit)?;
    Ok(Some((hasher, replay)))
}

fn create_with_header(path: &Path, hasher: &KeyHasher) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all(&encode_header(hasher))?;
    drop(file);
    OpenOptions::new().append(true).open(path)
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
