//! Turning paths into the records Fluent Bit would hand the filter.
//!
//! Paths: `.json`, `.ndjson` (each optionally `.gz`), directories (walked
//! recursively in name order) and `-` (stdin). Gzip is recognised by its magic bytes,
//! so a misnamed file still reads. CloudTrail digest files are skipped.
//!
//! Each line of a file is one JSON document (NDJSON), except that a file whose first
//! line is not a complete document is read whole as a stream of (pretty-printed)
//! documents. An S3 delivery document (`{"Records":[...]}`) becomes one record per
//! event unless `batch` is set.
//!
//! Records are handed on a [`Chunk`] at a time: a buffer of about 256 KiB of input
//! cut at a line end, with each record as a range of it, so the bytes read are
//! not copied again on their way to the host.
//!
//! Before a record is handed over, the whitespace between its tokens is removed:
//! Fluent Bit's json parser turns the line into msgpack and the wasm filter receives
//! msgpack turned back into compact JSON, key order kept. This is done on the bytes
//! (any nesting depth, no tree built); string escapes are kept as written, where
//! Fluent Bit would decode and re-escape them.

use crate::compact;
use crate::host::RecordTime;
use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where records come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    pub fn display(&self) -> String {
        match self {
            Source::Stdin => "-".into(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// Counts of what was read, for the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputStats {
    pub files: u64,
    pub digests_skipped: u64,
    pub bytes_read: u64,
    /// Records whose `eventTime` is not a valid time (`2026-02-31T00:00:00Z`): they
    /// are handed over without a record time of their own.
    pub invalid_times: u64,
    /// Why the first of them was refused, and where it was.
    pub first_invalid_time: Option<String>,
}

impl InputStats {
    /// Adds the counts of what was read after `self`: the first invalid time stays
    /// the first in input order.
    pub fn add(&mut self, later: InputStats) {
        self.files += later.files;
        self.digests_skipped += later.digests_skipped;
        self.bytes_read += later.bytes_read;
        self.invalid_times += later.invalid_times;
        if self.first_invalid_time.is_none() {
            self.first_invalid_time = later.first_invalid_time;
        }
    }
}

/// Expands `paths` into files in the order they will be read. Directories are walked
/// recursively, entries sorted by name, log files only ([`is_log_file`]); digest files
/// are left out (counted in `stats`).
pub fn walk(paths: &[PathBuf], stats: &mut InputStats) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            walk_dir(path, &mut out, stats)?;
        } else if is_digest_path(path) {
            stats.digests_skipped += 1;
        } else {
            out.push(Source::File(path.clone()));
        }
    }
    Ok(out)
}

/// Depth-first in name order, with an explicit stack of listings (no recursion on
/// directory depth).
fn walk_dir(root: &Path, out: &mut Vec<Source>, stats: &mut InputStats) -> Result<()> {
    let mut stack = vec![sorted_listing(root)?.into_iter()];
    while let Some(listing) = stack.last_mut() {
        let Some(entry) = listing.next() else {
            stack.pop();
            continue;
        };
        if entry.is_dir() {
            stack.push(sorted_listing(&entry)?.into_iter());
        } else if is_digest_path(&entry) {
            stats.digests_skipped += 1;
        } else if is_log_file(&entry) {
            out.push(Source::File(entry));
        }
    }
    Ok(())
}

/// Inside a directory only log files are read (`.json`, `.ndjson`, `.jsonl`, each
/// optionally `.gz`), so a README or a checksum next to an archive is not replayed
/// as records. A file named on the command line is read whatever its name.
pub fn is_log_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase());
    let Some(name) = name else {
        return false;
    };
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    [".json", ".ndjson", ".jsonl"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn sorted_listing(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .and_then(|entries| entries.map(|e| e.map(|e| e.path())).collect())
        .with_context(|| format!("cannot list directory {}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

/// CloudTrail writes digest files under `CloudTrail-Digest/`; they hold no events.
pub fn is_digest_path(path: &Path) -> bool {
    path.to_string_lossy().contains("CloudTrail-Digest")
}

/// Opens a source, transparently gunzipping it.
pub fn open(source: &Source) -> Result<Box<dyn Read>> {
    let raw: Box<dyn Read> = match source {
        Source::Stdin => Box::new(io::stdin().lock()),
        Source::File(path) => {
            Box::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?)
        }
    };
    let mut reader = BufReader::with_capacity(64 * 1024, raw);
    let is_gzip = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", source.display()))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if is_gzip {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

/// Receives each record and the time Fluent Bit would stamp it with.
pub type Visit<'a> = dyn FnMut(&[u8], Option<RecordTime>) -> Result<()> + 'a;

/// Reads every record of `source` in order and hands each to `visit`.
pub fn read_records(
    source: &Source,
    batch: bool,
    stats: &mut InputStats,
    visit: &mut Visit<'_>,
) -> Result<()> {
    read_chunks(source, batch, stats, &mut |chunk| {
        chunk
            .records()
            .try_for_each(|(record, time)| visit(record, time))
    })
}

/// Reads every record of `source` in order, a [`Chunk`] at a time.
pub fn read_chunks(
    source: &Source,
    batch: bool,
    stats: &mut InputStats,
    on_chunk: &mut dyn FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let mut reader = open(source)?;
    stats.files += 1;
    let mut splitter = Splitter::new(batch);
    let result = split_chunks(
        source,
        &mut *reader,
        CHUNK_BYTES,
        &mut splitter,
        stats,
        on_chunk,
    );
    stats.invalid_times += splitter.invalid_times;
    if let Some(first) = splitter.first_invalid {
        stats
            .first_invalid_time
            .get_or_insert_with(|| format!("{}: {first}", source.display()));
    }
    result
}

/// Decompressed bytes read at a time: the lines in them become one [`Chunk`].
const CHUNK_BYTES: usize = 256 * 1024;
/// Records per [`Chunk`] at most where they are not ranges of what was read (a
/// pretty-printed file, read whole).
const CHUNK_RECORDS: usize = 256;

/// Read buffers of dropped chunks, for the next ones. Reusing them spares a fresh
/// allocation, its page faults and its zeroing for every stretch of input: with
/// those, splitting in place cost more than the copies it saves.
static SPARE_BUFFERS: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
/// Buffers kept at most: every reading thread's chunks in flight, and some.
const SPARE_BUFFERS_KEPT: usize = 40;

/// A zeroed buffer of `len` bytes, reused when one is spare.
fn buffer(len: usize) -> Vec<u8> {
    let spare = (len == CHUNK_BYTES)
        .then(|| SPARE_BUFFERS.lock().ok()?.pop())
        .flatten();
    spare.unwrap_or_else(|| vec![0; len])
}

/// Keeps a buffer for [`buffer`]; only those of the usual size (one grown for a very
/// long line goes).
fn spare(buf: Vec<u8>) {
    if buf.len() == CHUNK_BYTES {
        if let Ok(mut spare) = SPARE_BUFFERS.lock() {
            if spare.len() < SPARE_BUFFERS_KEPT {
                spare.push(buf);
            }
        }
    }
}

/// Records of a stretch of input, handed on without copying them: most records are
/// ranges of the bytes as read (compact lines, the events of a compact S3 delivery
/// file); the rest (lines that had whitespace to remove) are copies.
#[derive(Default)]
pub struct Chunk {
    /// The input as read (whole lines), then bytes not yet in use.
    read: Vec<u8>,
    /// Records made anew, back to back.
    made: Vec<u8>,
    records: Vec<(Place, Option<RecordTime>)>,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        spare(std::mem::take(&mut self.read));
    }
}

/// Where a record of a [`Chunk`] lies.
#[derive(Clone, Copy)]
enum Place {
    Read(usize, usize),
    Made(usize, usize),
}

impl Chunk {
    /// The records in input order, each with its time.
    pub fn records(&self) -> impl Iterator<Item = (&[u8], Option<RecordTime>)> {
        self.records.iter().map(|&(place, time)| {
            let record = match place {
                Place::Read(start, end) => self.read.get(start..end),
                Place::Made(start, end) => self.made.get(start..end),
            };
            (record.unwrap_or_default(), time)
        })
    }
}

/// Gathers the records of one [`Chunk`] while its bytes as read are borrowed by
/// the splitter: a record that lies inside them is kept as its range, anything
/// else is copied.
struct Gather {
    /// Address and length of the bytes as read (0, 0 when there are none).
    base: usize,
    len: usize,
    made: Vec<u8>,
    records: Vec<(Place, Option<RecordTime>)>,
}

impl Gather {
    fn over(read: &[u8]) -> Gather {
        Gather {
            base: read.as_ptr() as usize,
            len: read.len(),
            made: Vec::new(),
            records: Vec::new(),
        }
    }

    fn keep(&mut self, record: &[u8], time: Option<RecordTime>) {
        // Comparing addresses only: a slice of the bytes as read starts inside them
        // and ends within their length.
        let start = (record.as_ptr() as usize).wrapping_sub(self.base);
        let place = if start <= self.len && record.len() <= self.len - start {
            Place::Read(start, start + record.len())
        } else {
            let start = self.made.len();
            self.made.extend_from_slice(record);
            Place::Made(start, self.made.len())
        };
        self.records.push((place, time));
    }

    fn into_chunk(self, read: Vec<u8>) -> Chunk {
        Chunk {
            read,
            made: self.made,
            records: self.records,
        }
    }
}

/// Fills `buf[filled..]` from `reader`; the bytes now filled, and whether the input
/// ended.
fn fill(reader: &mut dyn Read, buf: &mut [u8], mut filled: usize) -> io::Result<(usize, bool)> {
    while let Some(free) = buf.get_mut(filled..).filter(|free| !free.is_empty()) {
        match reader.read(free) {
            Ok(0) => return Ok((filled, true)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((filled, false))
}

/// Reads `reader` a buffer of `chunk_bytes` at a time, cut after its last newline
/// (the rest starts the next buffer), and hands the records of its lines on as one
/// [`Chunk`]. A line longer than a buffer is read on to its end. A file whose first
/// line opens a document it does not close is read whole as a stream of
/// (pretty-printed) documents.
fn split_chunks(
    source: &Source,
    reader: &mut dyn Read,
    chunk_bytes: usize,
    splitter: &mut Splitter,
    stats: &mut InputStats,
    on_chunk: &mut dyn FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let chunk_bytes = chunk_bytes.max(1);
    let mut read = buffer(chunk_bytes);
    let mut filled = 0;
    let mut first = true;
    loop {
        // Read on until the new bytes hold a newline, or the input ends.
        let (complete, filled_to, end) = loop {
            let before = filled;
            let (now, end) = fill(reader, &mut read, filled)
                .with_context(|| format!("reading {}", source.display()))?;
            stats.bytes_read += (now - before) as u64;
            filled = now;
            let new = read.get(before..filled).unwrap_or_default();
            match memchr::memrchr(b'\n', new) {
                _ if end => break (filled, filled, true),
                Some(newline) => break (before + newline + 1, filled, false),
                None => read.resize(read.len() * 2, 0),
            }
        };
        let mut next = buffer(chunk_bytes.max(filled_to - complete));
        let carried = read.get(complete..filled_to).unwrap_or_default();
        next.get_mut(..carried.len())
            .unwrap_or_default()
            .copy_from_slice(carried);
        filled = carried.len();
        let lines = read.get(..complete).unwrap_or_default();
        let mut gather = Gather::over(lines);
        // `memchr` finds the newlines; a byte-by-byte `split` costs as much as inflating.
        for line in lines_of(lines) {
            let text = trim(line);
            if text.is_empty() {
                continue;
            }
            if std::mem::take(&mut first) && starts_incomplete_document(text) {
                // A pretty-printed file: this line and everything after it.
                let start = (text.as_ptr() as usize).wrapping_sub(lines.as_ptr() as usize);
                let mut whole = read.get(start..filled_to).unwrap_or_default().to_vec();
                let more = reader
                    .read_to_end(&mut whole)
                    .with_context(|| format!("reading {}", source.display()))?;
                stats.bytes_read += more as u64;
                return splitter
                    .documents(&whole, &mut |record, time| {
                        gather.keep(record, time);
                        if gather.records.len() >= CHUNK_RECORDS {
                            let full = std::mem::replace(&mut gather, Gather::over(&[]));
                            on_chunk(full.into_chunk(Vec::new()))?;
                        }
                        Ok(())
                    })
                    .and_then(|()| on_chunk(gather.into_chunk(Vec::new())));
            }
            splitter.line(text, &mut |record, time| {
                gather.keep(record, time);
                Ok(())
            })?;
        }
        let done = std::mem::replace(&mut read, next);
        if gather.records.is_empty() {
            spare(done);
        } else {
            on_chunk(gather.into_chunk(done))?;
        }
        if end {
            spare(read);
            return Ok(());
        }
    }
}

/// The lines of `text`, newlines left out (the last one may be empty).
fn lines_of(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', text)
        .chain(std::iter::once(text.len()))
        .map(move |end| {
            let line = text.get(start..end).unwrap_or_default();
            start = end + 1;
            line
        })
}

/// True when the first line opens a JSON container that it does not close: the file
/// is then one or more multi-line documents rather than NDJSON.
fn starts_incomplete_document(text: &[u8]) -> bool {
    // An NDJSON line ends where its value ends; the first line of a pretty-printed
    // document ends inside it (`{`, `[`, `,`, `:`...). A line that merely looks
    // complete but is not is handed over as it is, like any other broken line.
    matches!(text.first(), Some(b'{') | Some(b'['))
        && !matches!(text.last(), Some(b'}') | Some(b']'))
}

fn compact_copy(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    compact::compact_into(text, &mut out);
    out
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Turns documents into records: compaction, digest skipping, `Records` splitting.
struct Splitter {
    batch: bool,
    buf: Vec<u8>,
    /// Records whose `eventTime` was refused, and the first reason.
    invalid_times: u64,
    first_invalid: Option<String>,
}

impl Splitter {
    fn new(batch: bool) -> Splitter {
        Splitter {
            batch,
            buf: Vec::new(),
            invalid_times: 0,
            first_invalid: None,
        }
    }

    /// The record time of an `eventTime` found (or not) in a record; a refused one
    /// is counted and the record gets none.
    fn stamp(&mut self, time: Option<Result<RecordTime, String>>) -> Option<RecordTime> {
        match time? {
            Ok(time) => Some(time),
            Err(why) => {
                self.invalid_times += 1;
                self.first_invalid.get_or_insert(why);
                None
            }
        }
    }

    fn line(&mut self, text: &[u8], visit: &mut Visit<'_>) -> Result<()> {
        // Lines already compact, as CloudTrail and most shippers write them, are taken
        // apart where they lie: one pass, no compacting copy. The strict readers give
        // exactly what the general path below gives for such a line, and `None` for
        // any other, which then takes that path.
        if let Some(split) = self.delivery_file(text, visit) {
            return split;
        }
        if let Some(members) = compact::compact_object_members(text) {
            return self.object(text, &members, visit);
        }
        self.compacted_line(text, visit)
    }

    /// Any line: compacted first, then taken apart.
    fn compacted_line(&mut self, text: &[u8], visit: &mut Visit<'_>) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        compact::compact_into(text, &mut buf);
        // Only a line that is one JSON value is re-serialised; anything else reaches
        // the module as it was read.
        let result = if buf.first() == Some(&b'{') {
            // `document` checks the object spans the line, else hands `text` over.
            self.document(&buf, text, visit)
        } else if compact::value_end(&buf, 0) == Some(buf.len()) {
            self.document(&buf, &buf, visit)
        } else {
            visit(text, None)
        };
        self.buf = buf;
        result
    }

    fn documents(&mut self, whole: &[u8], visit: &mut Visit<'_>) -> Result<()> {
        let compacted = compact_copy(whole);
        for range in compact::documents(&compacted) {
            let doc = &compacted[range];
            self.document(doc, doc, visit)?;
        }
        Ok(())
    }

    /// `doc` is compact; `raw` is what to hand over if `doc` is not an object.
    fn document(&mut self, doc: &[u8], raw: &[u8], visit: &mut Visit<'_>) -> Result<()> {
        // S3 delivery files first, recognised without a pass over the whole object.
        if let Some(split) = self.delivery_file(doc, visit) {
            return split;
        }
        let Some(members) = compact::object_members(doc) else {
            // Not an object we can take apart: hand it over as it is.
            return visit(raw, None);
        };
        self.object(doc, &members, visit)
    }

    /// An S3 delivery file (`{"Records":[...]}`, compact) handed over one event at a
    /// time, each stamped with its own `eventTime`; `None` when `doc` is not one (or
    /// in batch mode, where the file goes over whole).
    fn delivery_file(&mut self, doc: &[u8], visit: &mut Visit<'_>) -> Option<Result<()>> {
        if self.batch {
            return None;
        }
        let array = doc.strip_prefix(b"{\"Records\":")?.strip_suffix(b"}")?;
        let events = compact::compact_events(array)?;
        Some(events.into_iter().try_for_each(|(range, time)| {
            let event = array.get(range).unwrap_or_default();
            let time = self.stamp(time.and_then(|t| time_text(array.get(t)?)));
            visit(event, time)
        }))
    }

    /// One compact object with its members: a digest is skipped, anything else is
    /// a record stamped with its `eventTime`.
    fn object(
        &mut self,
        doc: &[u8],
        members: &[compact::Member],
        visit: &mut Visit<'_>,
    ) -> Result<()> {
        if compact::member(doc, members, b"\"digestPublicKeyFingerprint\"").is_some() {
            return Ok(());
        }
        let time = self.stamp(event_time_of(doc, members));
        visit(doc, time)
    }
}

/// The record time a Fluent Bit parser with `Time_Key eventTime` gives: the event's
/// own `eventTime` (the first event's for a `Records` batch). `None`: no `eventTime`
/// string; `Some(Err)`: one that is not a valid time, and why.
fn event_time(doc: &[u8]) -> Option<Result<RecordTime, String>> {
    time_text(compact::find_member(doc, b"\"eventTime\"")?)
}

fn time_text(value: &[u8]) -> Option<Result<RecordTime, String>> {
    let quoted = value.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    Some(match std::str::from_utf8(quoted) {
        Ok(text) => parse_record_time(text),
        Err(_) => Err("an eventTime that is not UTF-8".to_owned()),
    })
}

fn event_time_of(doc: &[u8], members: &[compact::Member]) -> Option<Result<RecordTime, String>> {
    if let Some(value) = compact::member(doc, members, b"\"eventTime\"") {
        return time_text(value);
    }
    let records = compact::member(doc, members, b"\"Records\"")?;
    let first = compact::array_elements(records)?.into_iter().next()?;
    event_time(records.get(first)?)
}
/// The record time of an `eventTime` text, read by the same parser as the filter's
/// event times ([`vpnrecon_time::parse`]): CloudTrail's `YYYY-MM-DDTHH:MM:SSZ`, with
/// an optional fraction (nanoseconds) and UTC offset, or Unix seconds. An impossible
/// date (`2026-02-31`), or a time before 1970 or after 2106 (which Fluent Bit's
/// record time cannot hold), is an error that says why.
pub fn parse_record_time(text: &str) -> Result<RecordTime, String> {
    let time = vpnrecon_time::parse(text).map_err(|e| format!("eventTime `{text}`: {e}"))?;
    let sec = u32::try_from(time.secs).map_err(|_| {
        format!("eventTime `{text}`: before 1970 or after 2106, outside a record time")
    })?;
    Ok(RecordTime {
        sec,
        nsec: time.nsec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records handed over, with their times, and the count of refused times.
    type Split = (Vec<(Vec<u8>, Option<RecordTime>)>, u64);

    /// What `Splitter::line` hands over for `text`.
    fn split(text: &[u8], batch: bool, shortcut: bool) -> Split {
        let mut splitter = Splitter::new(batch);
        let mut out = Vec::new();
        let mut visit = |record: &[u8], time| {
            out.push((record.to_vec(), time));
            Ok(())
        };
        if shortcut {
            splitter.line(text, &mut visit)
        } else {
            splitter.compacted_line(text, &mut visit)
        }
        .expect("line");
        (out, splitter.invalid_times)
    }

    /// Taking compact lines apart where they lie gives exactly what compacting them
    /// first gives, for S3 delivery files, single events, digests and every line
    /// made from them by inserting whitespace, deleting or changing a byte, in
    /// batch mode and not.
    #[test]
    fn the_compact_shortcut_changes_nothing() {
        let event = |n: usize, time: &str| {
            format!(
                r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u{n}","x":[1,-2.5e3,true,null,{{"a":"b c"}}]}},"eventTime":"{time}","eventName":"ListUsers","sourceIPAddress":"1.2.3.{n}","requestParameters":null,"note":"a \"quoted\" word, {{ and ] in a string"}}"#
            )
        };
        let seeds = [
            format!(
                r#"{{"Records":[{},{},{}]}}"#,
                event(1, "2026-06-20T08:00:00Z"),
                event(2, "2026-02-31T08:00:00Z"),
                event(3, "2026-06-20T09:00:00Z")
            ),
            r#"{"Records":[]}"#.to_owned(),
            event(4, "2026-06-20T10:00:00Z"),
            r#"{"digestPublicKeyFingerprint":"ab","x":1}"#.to_owned(),
            r#"{"Records":"not an array","eventTime":"2026-06-20T11:00:00Z"}"#.to_owned(),
            r#"[1,2,{"a":"b"}]"#.to_owned(),
        ];
        let mut rng = crate::generate::Rng::new(0x9e37_79b9_7f4a_7c15);
        let mut checked = 0;
        for seed in &seeds {
            for round in 0..600 {
                let mut line = seed.as_bytes().to_vec();
                for _ in 0..round % 4 {
                    let at = rng.below(line.len() + 1);
                    match rng.below(4) {
                        0 => line.insert(at, b" \t\r"[rng.below(3)]),
                        1 if at < line.len() => {
                            line.remove(at);
                        }
                        2 if at < line.len() => {
                            let bytes = b"{}[],:\"\\ a0";
                            line[at] = bytes[rng.below(bytes.len())];
                        }
                        _ => {}
                    }
                }
                let text = trim(&line);
                for batch in [false, true] {
                    assert_eq!(
                        split(text, batch, true),
                        split(text, batch, false),
                        "{}",
                        String::from_utf8_lossy(text)
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, seeds.len() * 600 * 2);
    }

    /// Hands out at most `step` bytes per read, as a pipe or a decompressor may.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// What reading `text` whole gives: its lines one by one, or, when the first
    /// line that is not blank opens a document it does not close, everything from
    /// that line on as a stream of documents.
    fn read_whole(text: &[u8], batch: bool) -> Split {
        let mut splitter = Splitter::new(batch);
        let mut out = Vec::new();
        let mut visit = |record: &[u8], time| {
            out.push((record.to_vec(), time));
            Ok(())
        };
        let mut offset = 0;
        let mut first = true;
        for line in text.split(|&b| b == b'\n') {
            let start = offset;
            offset += line.len() + 1;
            let trimmed = trim(line);
            if trimmed.is_empty() {
                continue;
            }
            if std::mem::take(&mut first) && starts_incomplete_document(trimmed) {
                let rest = &text[start + (line.len() - line.trim_ascii_start().len())..];
                splitter.documents(rest, &mut visit).expect("documents");
                break;
            }
            splitter.line(trimmed, &mut visit).expect("line");
        }
        (out, splitter.invalid_times)
    }

    /// What `split_chunks` gives for `text`, with the bytes it counted and whether
    /// any record was copied rather than handed over where it was read.
    fn read_in_chunks(text: &[u8], batch: bool, chunk: usize, step: usize) -> (Split, u64, bool) {
        let mut splitter = Splitter::new(batch);
        let mut stats = InputStats::default();
        let mut out = Vec::new();
        let mut copied = false;
        split_chunks(
            &Source::Stdin,
            &mut Trickle { data: text, step },
            chunk,
            &mut splitter,
            &mut stats,
            &mut |chunk| {
                copied |= !chunk.made.is_empty();
                for (record, time) in chunk.records() {
                    out.push((record.to_vec(), time));
                }
                Ok(())
            },
        )
        .expect("split_chunks");
        ((out, splitter.invalid_times), stats.bytes_read, copied)
    }

    /// Reading a buffer at a time, whatever its size and however the input trickles
    /// in, hands over exactly what reading the input whole does: lines cut at buffer
    /// ends, lines longer than a buffer, blank and `\r\n` lines, no final newline,
    /// lines that need compacting, pretty-printed files. Compact lines are handed
    /// over where they were read, not copied.
    #[test]
    fn reading_in_chunks_changes_nothing() {
        let event = |n: usize| {
            format!(
                r#"{{"eventVersion":"1.08","eventTime":"2026-06-20T08:0{n}:00Z","eventName":"ListUsers","sourceIPAddress":"1.2.3.{n}","note":"line\nbreak {{ ]"}}"#
            )
        };
        let s3 = format!(r#"{{"Records":[{},{},{}]}}"#, event(1), event(2), event(3));
        let spaced = r#"{ "eventTime" : "2026-06-20T09:00:00Z", "a": [1, 2] }"#;
        let long = format!(
            r#"{{"eventTime":"2026-06-20T10:00:00Z","pad":"{}"}}"#,
            "x".repeat(3000)
        );
        let compact_lines = format!("{s3}\n{}\n{long}\n\n{}\r\n{s3}", event(4), event(5));
        let inputs = [
            (compact_lines.clone(), false),
            (format!("{compact_lines}\n"), false),
            (format!("\n  \n{compact_lines}\n{spaced}\n"), true),
            (format!("{spaced}\nnot json at all\n[1, 2]\n"), true),
            (
                format!(
                    "\n{{\n  \"Records\": [\n    {}\n  ]\n}}\n{{\"x\": 1}}\n",
                    event(6)
                ),
                true,
            ),
            (String::new(), false),
        ];
        let mut checked = 0;
        for (text, copies) in &inputs {
            for batch in [false, true] {
                let whole = read_whole(text.as_bytes(), batch);
                assert!(text.is_empty() || !whole.0.is_empty());
                for chunk in [1, 2, 3, 7, 64, 1000, 4096, 1 << 20] {
                    for step in [1, 5, 4096, usize::MAX] {
                        if step < 5 && chunk > 64 {
                            continue;
                        }
                        let (split, bytes, copied) =
                            read_in_chunks(text.as_bytes(), batch, chunk, step);
                        assert_eq!(split, whole, "chunk {chunk}, step {step}: {text}");
                        assert_eq!(bytes, text.len() as u64);
                        if !copies {
                            assert!(!copied, "a compact line was copied: {text}");
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 300, "{checked}");
    }
}
