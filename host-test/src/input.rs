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
pub fn open(source: &Source) -> Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = match source {
        Source::Stdin => Box::new(io::stdin().lock()),
        Source::File(path) => {
            Box::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?)
        }
    };
    let mut reader = BufReader::with_capacity(256 * 1024, raw);
    let is_gzip = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", source.display()))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if is_gzip {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(reader),
        ))
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
    let mut reader = open(source)?;
    stats.files += 1;
    let mut splitter = Splitter::new(batch);
    let result = split_records(source, &mut *reader, &mut splitter, stats, visit);
    stats.invalid_times += splitter.invalid_times;
    if let Some(first) = splitter.first_invalid {
        stats
            .first_invalid_time
            .get_or_insert_with(|| format!("{}: {first}", source.display()));
    }
    result
}

fn split_records(
    source: &Source,
    reader: &mut dyn BufRead,
    splitter: &mut Splitter,
    stats: &mut InputStats,
    visit: &mut Visit<'_>,
) -> Result<()> {
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {}", source.display()))?;
        if n == 0 {
            break;
        }
        stats.bytes_read += n as u64;
        let text = trim(&line);
        if text.is_empty() {
            continue;
        }
        if first {
            first = false;
            if starts_incomplete_document(text) {
                // A pretty-printed file: read the rest and parse it as a stream.
                let mut whole = line.clone();
                let more = reader
                    .read_to_end(&mut whole)
                    .with_context(|| format!("reading {}", source.display()))?;
                stats.bytes_read += more as u64;
                return splitter.documents(&whole, visit);
            }
        }
        splitter.line(text, visit)?;
    }
    Ok(())
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
}
