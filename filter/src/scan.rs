//! An iterative JSON scanner: validates a document, walks the members of one object,
//! skips values and decodes strings, all without recursion.
//!
//! Why our own scanner rather than a crate: the module runs in Fluent Bit's WAMR
//! interpreter with an 8 KiB operand stack, where a parser that recurses once per
//! nesting level (serde_json, simd-json's tape builders, json-rust) overflows on
//! ordinary CloudTrail records and the record is lost. Every wasm instruction also
//! costs about 4–12 ns there (measured), and a candidate record may spend thousands of instructions on
//! parsing. No maintained crate both extracts fields iteratively and stays in that
//! budget (struson and the other pull parsers are iterative but build per-token state
//! and decode every string), so this module does only what the filter needs:
//!
//! * [`validate`] checks the whole document with an explicit depth stack of one bit
//!   per level (heap-backed past 64 levels), so depth costs memory proportional to the
//!   input, never call stack. It is at least as strict as Fluent Bit's own JSON
//!   parser: balanced containers, strings with valid escapes and no raw control bytes,
//!   RFC 8259 numbers and literals, valid UTF-8 (checked with `core::str::from_utf8`
//!   on each string that holds a non-ASCII byte; outside strings only ASCII is legal).
//! * [`Members`] / [`Elements`] walk one container of an already validated document;
//!   nested values are skipped with a bracket counter (token by token, string
//!   contents eight bytes at a time), never by recursion, and [`Members::enter`] walks into a wanted nested object in place
//!   instead of skipping it first.
//! * [`ObjectReader`] / [`checked_value`] are the one-pass reader `crate::record`
//!   uses: they validate every byte they step over exactly as [`validate`] does
//!   while the caller picks out the members it wants, so a record is validated and
//!   read in the same walk.
//! * [`RawStr::decode`] turns a string span into `Cow<str>`, borrowed unless the
//!   string has escapes.
//!
//! Strings dominate CloudTrail text, so string scanning reads eight bytes at a time
//! (SWAR): validation stops only at a quote, a backslash, a control byte or a
//! non-ASCII byte; skipping a validated string stops only at a quote.

use std::borrow::Cow;
use std::fmt;

/// The kind of a JSON value, known from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// What is wrong with a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text ends inside a value.
    Truncated,
    /// A byte that cannot start or continue the value at this place.
    UnexpectedByte(u8),
    /// A backslash escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
    InvalidEscape,
    /// A raw byte below 0x20 inside a string (JSON requires it escaped).
    ControlInString,
    /// A string whose bytes are not UTF-8.
    InvalidUtf8,
    /// A `\u` escape that is a lone or mismatched UTF-16 surrogate (decoding only).
    LoneSurrogate,
    /// A malformed number (leading zero, missing digits).
    InvalidNumber,
    /// Non-whitespace after the top-level value.
    TrailingData,
    /// The text holds no value at all.
    Empty,
}

/// A scan failure and the byte offset where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanError {
    pub kind: ErrorKind,
    pub offset: usize,
}

impl ScanError {
    fn at(kind: ErrorKind, offset: usize) -> ScanError {
        ScanError { kind, offset }
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::Truncated => "text ends inside a value (truncated record?)".to_owned(),
            ErrorKind::UnexpectedByte(b) => format!("unexpected byte 0x{b:02x}"),
            ErrorKind::InvalidEscape => "invalid backslash escape in a string".to_owned(),
            ErrorKind::ControlInString => "unescaped control byte in a string".to_owned(),
            ErrorKind::InvalidUtf8 => "string is not valid UTF-8".to_owned(),
            ErrorKind::LoneSurrogate => "\\u escape is a lone UTF-16 surrogate".to_owned(),
            ErrorKind::InvalidNumber => "malformed number".to_owned(),
            ErrorKind::TrailingData => "data after the end of the JSON value".to_owned(),
            ErrorKind::Empty => "no JSON value".to_owned(),
        };
        write!(f, "invalid JSON at byte {}: {what}", self.offset)
    }
}

impl std::error::Error for ScanError {}

/// JSON's four whitespace bytes.
#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// The first non-whitespace position at or after `pos` (or `doc.len()`).
#[inline]
pub fn skip_ws(doc: &[u8], mut pos: usize) -> usize {
    while let Some(&b) = doc.get(pos) {
        if !is_ws(b) {
            break;
        }
        pos += 1;
    }
    pos
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in the lowest byte of `w` that is a quote or a backslash (higher
/// flagged bytes may be false positives: only the lowest is used).
#[inline]
fn quote_or_backslash(w: u64) -> u64 {
    let q = w ^ (ONES * u64::from(b'"'));
    let b = w ^ (ONES * u64::from(b'\\'));
    (q.wrapping_sub(ONES) & !q) | (b.wrapping_sub(ONES) & !b)
}

/// The eight bytes at `pos` as a little-endian word, if there are eight.
#[inline]
fn word_at(doc: &[u8], pos: usize) -> Option<u64> {
    let bytes: [u8; 8] = doc.get(pos..pos.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Scans the string whose opening quote is at `open` and returns the offset of
/// its closing quote and whether it holds an escape. With `CHECK`, escapes, control
/// bytes and UTF-8 are validated; without, only the end is found (for documents that
/// [`validate`] already accepted).
fn string_end<const CHECK: bool>(doc: &[u8], open: usize) -> Result<(usize, bool), ScanError> {
    let start = open + 1;
    let mut pos = start;
    let mut non_ascii = false;
    let mut escaped = false;
    // Once a non-ASCII byte is seen the whole string is UTF-8 checked at the end, so
    // further high bytes need not stop the word loop.
    let mut high_mask = if CHECK { HIGHS } else { 0 };
    loop {
        // Fast path: skip whole words of ordinary bytes.
        while let Some(w) = word_at(doc, pos) {
            let mut special = quote_or_backslash(w);
            if CHECK {
                special |= (w.wrapping_sub(ONES * 0x20) & !w) | (w & high_mask);
            }
            special &= HIGHS;
            if special != 0 {
                pos += (special.trailing_zeros() / 8) as usize;
                break;
            }
            pos += 8;
        }
        let Some(&b) = doc.get(pos) else {
            return Err(ScanError::at(ErrorKind::Truncated, doc.len()));
        };
        match b {
            b'"' => {
                if CHECK && non_ascii {
                    let span = doc.get(start..pos).unwrap_or_default();
                    if let Err(e) = std::str::from_utf8(span) {
                        return Err(ScanError::at(
                            ErrorKind::InvalidUtf8,
                            start + e.valid_up_to(),
                        ));
                    }
                }
                return Ok((pos, escaped));
            }
            b'\\' => {
                escaped = true;
                let Some(&e) = doc.get(pos + 1) else {
                    return Err(ScanError::at(ErrorKind::Truncated, doc.len()));
                };
                if e == b'u' {
                    if CHECK {
                        for i in 2..6 {
                            match doc.get(pos + i) {
                                Some(h) if h.is_ascii_hexdigit() => {}
                                Some(_) => {
                                    return Err(ScanError::at(ErrorKind::InvalidEscape, pos))
                                }
                                None => return Err(ScanError::at(ErrorKind::Truncated, doc.len())),
                            }
                        }
                    }
                    pos += 6;
                } else {
                    if CHECK && !matches!(e, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't')
                    {
                        return Err(ScanError::at(ErrorKind::InvalidEscape, pos));
                    }
                    pos += 2;
                }
            }
            _ if b < 0x20 => {
                if CHECK {
                    return Err(ScanError::at(ErrorKind::ControlInString, pos));
                }
                pos += 1;
            }
            _ => {
                // A non-ASCII byte (only reached when CHECK and not yet seen).
                non_ascii = true;
                high_mask = 0;
                pos += 1;
            }
        }
    }
}

/// The offset of the closing quote of the string opened at `open`, for documents
/// that [`validate`] accepted; `doc.len()` if the text ends first. Only quotes are
/// searched for, eight bytes at a time: a quote preceded by an odd run of
/// backslashes is an escaped one and the search goes on. Kept separate from
/// [`string_end`] and inlined because the walkers and the prefilter call it for
/// every key and string value they skip.
#[inline(always)]
fn skip_string(doc: &[u8], open: usize) -> usize {
    let mut pos = open + 1;
    loop {
        while let Some(w) = word_at(doc, pos) {
            let q = w ^ (ONES * u64::from(b'"'));
            let found = q.wrapping_sub(ONES) & !q & HIGHS;
            if found != 0 {
                pos += (found.trailing_zeros() / 8) as usize;
                break;
            }
            pos += 8;
        }
        match doc.get(pos) {
            Some(b'"') => {
                if !escaped_quote(doc, open, pos) {
                    return pos;
                }
                pos += 1;
            }
            Some(_) => pos += 1,
            None => return doc.len(),
        }
    }
}

/// Whether the quote at `quote` is escaped: preceded (after `open`) by an odd
/// number of backslashes. Almost always one comparison.
#[inline(always)]
fn escaped_quote(doc: &[u8], open: usize, quote: usize) -> bool {
    let mut run = 0usize;
    let mut at = quote;
    while at > open + 1 && doc.get(at - 1) == Some(&b'\\') {
        run += 1;
        at -= 1;
    }
    run % 2 == 1
}

/// The offset of the closing quote of the string opened at `open`, and whether the
/// string holds a backslash escape; `None` if the text ends first. Only quotes and
/// backslashes are looked at, so on text that was not validated it finds where a
/// JSON reader would end the string and never reads past the end. The prefilter
/// reads keys with it: an escaped key must be decoded before it is compared.
#[inline(always)]
pub fn string_close(doc: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut pos = open + 1;
    let mut escaped = false;
    loop {
        while let Some(w) = word_at(doc, pos) {
            let special = quote_or_backslash(w) & HIGHS;
            if special != 0 {
                pos += (special.trailing_zeros() / 8) as usize;
                break;
            }
            pos += 8;
        }
        match doc.get(pos)? {
            b'"' => return Some((pos, escaped)),
            b'\\' => {
                escaped = true;
                pos += 2;
            }
            _ => pos += 1,
        }
    }
}

/// The end (exclusive) of the number starting at `pos`, per RFC 8259's grammar.
fn number_end(doc: &[u8], mut pos: usize) -> Result<usize, ScanError> {
    let start = pos;
    if doc.get(pos) == Some(&b'-') {
        pos += 1;
    }
    let digits = |doc: &[u8], mut p: usize| {
        while doc.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
        p
    };
    match doc.get(pos) {
        Some(b'0') => pos += 1,
        Some(b'1'..=b'9') => pos = digits(doc, pos),
        Some(_) => return Err(ScanError::at(ErrorKind::InvalidNumber, start)),
        None => return Err(ScanError::at(ErrorKind::Truncated, doc.len())),
    }
    if doc.get(pos) == Some(&b'.') {
        let after = digits(doc, pos + 1);
        if after == pos + 1 {
            return Err(ScanError::at(ErrorKind::InvalidNumber, start));
        }
        pos = after;
    }
    if matches!(doc.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(doc.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let after = digits(doc, pos);
        if after == pos {
            return Err(ScanError::at(ErrorKind::InvalidNumber, start));
        }
        pos = after;
    }
    Ok(pos)
}

/// The end of the literal `word` at `pos`.
fn literal_end(doc: &[u8], pos: usize, word: &[u8]) -> Result<usize, ScanError> {
    let end = pos + word.len();
    match doc.get(pos..end) {
        Some(found) if bytes_eq(found, word) => Ok(end),
        Some(_) => Err(ScanError::at(
            ErrorKind::UnexpectedByte(doc.get(pos).copied().unwrap_or(0)),
            pos,
        )),
        None => {
            // Truncated if what is there is a prefix of the word, else just wrong.
            let rest = doc.get(pos..).unwrap_or_default();
            if word.starts_with(rest) {
                Err(ScanError::at(ErrorKind::Truncated, doc.len()))
            } else {
                Err(ScanError::at(
                    ErrorKind::UnexpectedByte(rest.first().copied().unwrap_or(0)),
                    pos,
                ))
            }
        }
    }
}

/// A stack of container kinds, one bit per level (1 = object). The first 64 levels
/// live inline, deeper ones in a vector, so memory grows with the input's depth
/// (at most one bit per input byte) and the call stack never does.
struct DepthStack {
    len: usize,
    low: u64,
    spill: Vec<u64>,
}

impl DepthStack {
    fn new() -> DepthStack {
        DepthStack {
            len: 0,
            low: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, object: bool) {
        let bit = u64::from(object);
        if self.len < 64 {
            self.low = (self.low & !(1 << self.len)) | (bit << self.len);
        } else {
            let i = self.len - 64;
            let (word, shift) = (i / 64, i % 64);
            if word == self.spill.len() {
                self.spill.push(0);
            }
            if let Some(w) = self.spill.get_mut(word) {
                *w = (*w & !(1 << shift)) | (bit << shift);
            }
        }
        self.len += 1;
    }

    /// The kind of the innermost open container (`None` at top level).
    fn top_is_object(&self) -> Option<bool> {
        let i = self.len.checked_sub(1)?;
        if i < 64 {
            Some(self.low >> i & 1 == 1)
        } else {
            let i = i - 64;
            self.spill.get(i / 64).map(|w| w >> (i % 64) & 1 == 1)
        }
    }

    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
}

/// What the validator expects next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Any value.
    Value,
    /// A value or `]` (just after `[`).
    ValueOrClose,
    /// A key (after `,` in an object).
    Key,
    /// A key or `}` (just after `{`).
    KeyOrClose,
    /// `,` or the close of the enclosing container, or the end at top level.
    AfterValue,
}

/// Checks that `doc` is exactly one JSON value surrounded by optional whitespace.
/// Iterative: nesting depth costs one bit of heap per level, never call stack.
pub fn validate(doc: &[u8]) -> Result<Kind, ScanError> {
    let mut stack = DepthStack::new();
    let mut expect = Expect::Value;
    let mut pos = skip_ws(doc, 0);
    let top = match doc.get(pos) {
        Some(b'{') => Kind::Object,
        Some(b'[') => Kind::Array,
        Some(b'"') => Kind::String,
        Some(b't' | b'f') => Kind::Bool,
        Some(b'n') => Kind::Null,
        Some(_) => Kind::Number,
        None => return Err(ScanError::at(ErrorKind::Empty, pos)),
    };
    loop {
        pos = skip_ws(doc, pos);
        let Some(&b) = doc.get(pos) else {
            return Err(ScanError::at(ErrorKind::Truncated, doc.len()));
        };
        match expect {
            Expect::Value | Expect::ValueOrClose => {
                if b == b']' && expect == Expect::ValueOrClose {
                    stack.pop();
                    pos += 1;
                    expect = Expect::AfterValue;
                } else {
                    match b {
                        b'{' => {
                            stack.push(true);
                            pos += 1;
                            expect = Expect::KeyOrClose;
                            continue;
                        }
                        b'[' => {
                            stack.push(false);
                            pos += 1;
                            expect = Expect::ValueOrClose;
                            continue;
                        }
                        b'"' => pos = string_end::<true>(doc, pos)?.0 + 1,
                        b'-' | b'0'..=b'9' => pos = number_end(doc, pos)?,
                        b't' => pos = literal_end(doc, pos, b"true")?,
                        b'f' => pos = literal_end(doc, pos, b"false")?,
                        b'n' => pos = literal_end(doc, pos, b"null")?,
                        _ => return Err(ScanError::at(ErrorKind::UnexpectedByte(b), pos)),
                    }
                    expect = Expect::AfterValue;
                }
            }
            Expect::Key | Expect::KeyOrClose => {
                if b == b'}' && expect == Expect::KeyOrClose {
                    stack.pop();
                    pos += 1;
                    expect = Expect::AfterValue;
                } else if b == b'"' {
                    pos = skip_ws(doc, string_end::<true>(doc, pos)?.0 + 1);
                    match doc.get(pos) {
                        Some(b':') => pos += 1,
                        Some(&other) => {
                            return Err(ScanError::at(ErrorKind::UnexpectedByte(other), pos))
                        }
                        None => return Err(ScanError::at(ErrorKind::Truncated, doc.len())),
                    }
                    expect = Expect::Value;
                    continue;
                } else {
                    return Err(ScanError::at(ErrorKind::UnexpectedByte(b), pos));
                }
            }
            Expect::AfterValue => {}
        }
        if expect != Expect::AfterValue {
            continue;
        }
        // After a value: finished at top level, else `,` or the matching close
        // (which completes the enclosing value, so the loop goes on).
        loop {
            let Some(in_object) = stack.top_is_object() else {
                let end = skip_ws(doc, pos);
                return match doc.get(end) {
                    None => Ok(top),
                    Some(_) => Err(ScanError::at(ErrorKind::TrailingData, end)),
                };
            };
            pos = skip_ws(doc, pos);
            match (doc.get(pos), in_object) {
                (Some(b','), true) => expect = Expect::Key,
                (Some(b','), false) => expect = Expect::Value,
                (Some(b'}'), true) | (Some(b']'), false) => {
                    stack.pop();
                    pos += 1;
                    continue;
                }
                (Some(&other), _) => {
                    return Err(ScanError::at(ErrorKind::UnexpectedByte(other), pos))
                }
                (None, _) => return Err(ScanError::at(ErrorKind::Truncated, doc.len())),
            }
            pos += 1;
            break;
        }
    }
}

// ---------------------------------------------------------------------------------
// The validating reader: one pass that checks every byte it steps over exactly as
// `validate` does and, at the same time, lets the caller stop at the members it
// wants. `crate::record` reads a record with it: validation and extraction in one
// walk, each byte seen once.
//
// Written for the interpreter's cost model, where every wasm instruction counts:
// no error details (a record it turns away is checked again by `validate`, which
// says why), positions returned as plain numbers with `FAIL` for "invalid", and the
// small steps inlined into the loops that use them.
// ---------------------------------------------------------------------------------

/// The text is not valid JSON (what is wrong is [`validate`]'s to say).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid;

/// "Invalid" as a position: no document is this long.
const FAIL: usize = usize::MAX;

const QUOTES: u64 = ONES * b'"' as u64;
const BACKSLASHES: u64 = ONES * b'\\' as u64;
const SPACES: u64 = ONES * 0x20;

/// High bit set in the lowest byte of `w` that is a quote, a backslash, a control
/// byte (below 0x20) or not ASCII; higher flagged bytes may be false positives.
///
/// Each subtraction flags a byte whose difference wraps (the byte sought, or a
/// control byte for the last one) and also any byte of 0x81 and above, which the
/// final `| w` flags anyway as not ASCII; a borrow can only reach bytes above a
/// flagged one. So the lowest flagged byte is always one of the four kinds.
#[inline(always)]
fn string_special(w: u64) -> u64 {
    ((w ^ QUOTES).wrapping_sub(ONES)
        | (w ^ BACKSLASHES).wrapping_sub(ONES)
        | w.wrapping_sub(SPACES)
        | w)
        & HIGHS
}

/// Whether `text` holds no byte that is special inside a string (see
/// [`string_special`]): plain ASCII a JSON string can hold verbatim. One flag word
/// is gathered over whole words and a last word that overlaps them (or, under eight
/// bytes, the text padded with spaces), with a single test at the end: the common
/// answer, "plain", costs one pass without a branch per word.
#[inline]
pub(crate) fn is_plain_ascii(text: &[u8]) -> bool {
    let mut words = text.chunks_exact(8);
    let mut flags = 0;
    for word in &mut words {
        flags |= word
            .first_chunk::<8>()
            .map_or(HIGHS, |w| string_special(u64::from_le_bytes(*w)));
    }
    let last = match text.len().checked_sub(8) {
        Some(start) => word_at(text, start),
        None => {
            let mut padded = [b' '; 8];
            if let Some(head) = padded.get_mut(..text.len()) {
                head.copy_from_slice(text);
            }
            Some(u64::from_le_bytes(padded))
        }
    };
    flags |= last.map_or(HIGHS, string_special);
    flags == 0
}

/// [`next_string_special`] in a text of its own rather than a document (a string
/// the output escapes): where fewer than eight bytes are left, the last eight bytes
/// are read as one word overlapping bytes already found plain, instead of one byte
/// at a time.
#[inline]
pub(crate) fn next_string_special_in(text: &[u8], pos: usize) -> usize {
    let len = text.len();
    let cut = pos + len.saturating_sub(pos) / 8 * 8;
    let found = next_string_special(text.get(..cut).unwrap_or_default(), pos);
    if found < cut || cut >= len {
        return found;
    }
    // Nothing special in `pos..cut`: the lowest flagged byte of a word starting at
    // or after `pos` is the first special one after `cut`.
    match len.checked_sub(8).filter(|&start| start >= pos) {
        Some(start) => match word_at(text, start).map_or(0, string_special) {
            0 => len,
            special => start + (special.trailing_zeros() / 8) as usize,
        },
        None => next_string_special(text, cut),
    }
}

/// The first byte at or after `pos` that is special inside a string (see
/// [`string_special`]), eight bytes per step; `doc.len()` if none.
#[inline(always)]
pub(crate) fn next_string_special(doc: &[u8], mut pos: usize) -> usize {
    // Most strings are short: one word first, then sixteen bytes per bounds check.
    if let Some(chunk) = doc.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        let special = string_special(u64::from_le_bytes(*chunk));
        if special != 0 {
            return pos + (special.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while let Some(chunk) = doc.get(pos..).and_then(<[u8]>::first_chunk::<16>) {
        let (low, high) = chunk.split_at(8);
        let low = low.first_chunk::<8>().map_or(0, |w| u64::from_le_bytes(*w));
        let high = high
            .first_chunk::<8>()
            .map_or(0, |w| u64::from_le_bytes(*w));
        let (a, b) = (string_special(low), string_special(high));
        if a | b != 0 {
            let bit = if a != 0 {
                a.trailing_zeros()
            } else {
                64 + b.trailing_zeros()
            };
            return pos + (bit / 8) as usize;
        }
        pos += 16;
    }
    if let Some(chunk) = doc.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        let special = string_special(u64::from_le_bytes(*chunk));
        if special != 0 {
            return pos + (special.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while let Some(&b) = doc.get(pos) {
        if b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b) {
            return pos;
        }
        pos += 1;
    }
    pos
}

/// Validates the string whose opening quote is at `open`, as [`validate`] does, and
/// returns the offset of its closing quote and whether it holds a backslash escape.
/// ASCII is read eight bytes per step; a string with a non-ASCII byte is checked
/// from its start by the general path (UTF-8 included).
#[inline(always)]
pub fn checked_string(doc: &[u8], open: usize) -> Result<(usize, bool), Invalid> {
    let mut pos = next_string_special(doc, open + 1);
    if doc.get(pos) == Some(&b'"') {
        return Ok((pos, false));
    }
    let mut escaped = false;
    loop {
        match doc.get(pos) {
            Some(b'"') => return Ok((pos, escaped)),
            Some(b'\\') => {
                escaped = true;
                pos = checked_escape(doc, pos);
                if pos == FAIL {
                    return Err(Invalid);
                }
            }
            Some(0x80..) => return string_end::<true>(doc, open).map_err(|_| Invalid),
            _ => return Err(Invalid),
        }
        pos = next_string_special(doc, pos);
    }
}

/// Checks the escape at `pos` (a backslash) and returns the offset after it.
#[inline(never)]
fn checked_escape(doc: &[u8], pos: usize) -> usize {
    match doc.get(pos + 1) {
        Some(b'u') => match doc.get(pos + 2..pos + 6) {
            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => pos + 6,
            _ => FAIL,
        },
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => pos + 2,
        _ => FAIL,
    }
}

/// The first non-whitespace position at or after `pos`, without a call when the
/// byte there is not whitespace (compact JSON).
#[inline(always)]
pub(crate) fn ws(doc: &[u8], pos: usize) -> usize {
    match doc.get(pos) {
        Some(&b) if b <= b' ' => skip_ws(doc, pos),
        _ => pos,
    }
}

/// From `pos` (whitespace allowed): a key, its colon and the whitespace after it.
/// Returns the key's opening and closing quotes, the offset of the value and whether
/// the key holds an escape.
#[inline(always)]
fn checked_key(doc: &[u8], pos: usize) -> Result<(usize, usize, usize, bool), Invalid> {
    let open = ws(doc, pos);
    if doc.get(open) != Some(&b'"') {
        return Err(Invalid);
    }
    let (close, escaped) = checked_string(doc, open)?;
    let mut colon = close + 1;
    if doc.get(colon) != Some(&b':') {
        colon = skip_ws(doc, colon);
        if doc.get(colon) != Some(&b':') {
            return Err(Invalid);
        }
    }
    Ok((open, close, ws(doc, colon + 1), escaped))
}

/// Validates the number or literal at `pos` and returns its end, or `FAIL`.
#[inline(never)]
fn checked_atom(doc: &[u8], pos: usize, first: u8) -> usize {
    let end = match first {
        b'-' | b'0'..=b'9' => number_end(doc, pos),
        b't' => literal_end(doc, pos, b"true"),
        b'f' => literal_end(doc, pos, b"false"),
        b'n' => literal_end(doc, pos, b"null"),
        _ => return FAIL,
    };
    end.unwrap_or(FAIL)
}

/// The kind of the value whose first byte is `first` (of a validated value).
#[inline]
pub fn kind_of(first: u8) -> Kind {
    match first {
        b'{' => Kind::Object,
        b'[' => Kind::Array,
        b'"' => Kind::String,
        b't' | b'f' => Kind::Bool,
        b'n' => Kind::Null,
        _ => Kind::Number,
    }
}

/// Validates the value that starts at `pos` (no leading whitespace) as [`validate`]
/// does, and returns its end (exclusive). Containers are read with an explicit
/// depth stack (one bit per level), never by recursion.
pub fn checked_value(doc: &[u8], pos: usize) -> Result<usize, Invalid> {
    match checked_value_end(doc, pos) {
        FAIL => Err(Invalid),
        end => Ok(end),
    }
}

/// [`checked_value`] with `FAIL` for "invalid".
#[inline(never)]
fn checked_value_end(doc: &[u8], pos: usize) -> usize {
    match doc.get(pos) {
        Some(b'"') => {
            return match checked_string(doc, pos) {
                Ok((close, _)) => close + 1,
                Err(_) => FAIL,
            }
        }
        Some(b'{' | b'[') => {}
        Some(&b) => return checked_atom(doc, pos, b),
        None => return FAIL,
    }
    // Nesting: one bit per level (1 = object), the first 64 levels in a word.
    let mut stack = DepthStack::new();
    let mut p = pos;
    'value: loop {
        // At a value (whitespace allowed).
        p = ws(doc, p);
        match doc.get(p) {
            Some(b'"') => match checked_string(doc, p) {
                Ok((close, _)) => p = close + 1,
                Err(_) => return FAIL,
            },
            Some(b'{') => {
                p = ws(doc, p + 1);
                if doc.get(p) == Some(&b'}') {
                    p += 1;
                } else {
                    stack.push(true);
                    match checked_key(doc, p) {
                        Ok((_, _, value, _)) => p = value,
                        Err(_) => return FAIL,
                    }
                    continue 'value;
                }
            }
            Some(b'[') => {
                p = ws(doc, p + 1);
                if doc.get(p) == Some(&b']') {
                    p += 1;
                } else {
                    stack.push(false);
                    continue 'value;
                }
            }
            Some(&b) => {
                p = checked_atom(doc, p, b);
                if p == FAIL {
                    return FAIL;
                }
            }
            None => return FAIL,
        }
        // After a value: `,` or the close of the enclosing container.
        loop {
            let Some(in_object) = stack.top_is_object() else {
                return p;
            };
            p = ws(doc, p);
            match (doc.get(p), in_object) {
                (Some(b','), true) => {
                    match checked_key(doc, p + 1) {
                        Ok((_, _, value, _)) => p = value,
                        Err(_) => return FAIL,
                    }
                    continue 'value;
                }
                (Some(b','), false) => {
                    p += 1;
                    continue 'value;
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    stack.pop();
                    p += 1;
                }
                _ => return FAIL,
            }
        }
    }
}

/// A key read by [`ObjectReader::next_key`], or a string value read by
/// [`ObjectReader::string`]: its raw bytes (between the quotes).
#[derive(Clone, Copy, Debug)]
pub struct Key<'a> {
    pub raw: &'a [u8],
    /// Whether `raw` holds a backslash escape (then it must be decoded to compare).
    pub escaped: bool,
}

impl<'a> Key<'a> {
    /// The decoded key, borrowed unless it has escapes; the raw bytes if it does not
    /// decode (then it matches no wanted name, which holds no backslash).
    #[inline(always)]
    pub fn name(&self) -> Cow<'a, [u8]> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        RawStr {
            raw: self.raw,
            escaped: true,
        }
        .name()
    }
}

/// Walks the members of one object, validating every byte it steps over as
/// [`validate`] does. After [`ObjectReader::next_key`] the caller takes the value
/// with [`ObjectReader::skip`], [`ObjectReader::string`], or by reading the nested
/// object at [`ObjectReader::pos`] and calling [`ObjectReader::resume`].
pub struct ObjectReader<'a> {
    doc: &'a [u8],
    /// The value's offset after `next_key`; the end of the last value otherwise.
    pub pos: usize,
    first: bool,
}

impl<'a> ObjectReader<'a> {
    /// The object whose `{` is at `open`.
    #[inline(always)]
    pub fn open(doc: &'a [u8], open: usize) -> Result<ObjectReader<'a>, Invalid> {
        if doc.get(open) != Some(&b'{') {
            return Err(Invalid);
        }
        Ok(ObjectReader {
            doc,
            pos: open + 1,
            first: true,
        })
    }

    /// The next key, leaving [`ObjectReader::pos`] at its value; `None` once the
    /// closing brace is read (then `pos` is just past it).
    #[inline(always)]
    pub fn next_key(&mut self) -> Result<Option<Key<'a>>, Invalid> {
        match self.next_member()? {
            Some(at) => self.key_at(at).map(Some),
            None => Ok(None),
        }
    }

    /// [`ObjectReader::next_key`] in two steps: where the next member starts (its
    /// key's opening quote, unless the text is invalid there), or `None` once the
    /// closing brace is read. Then either [`ObjectReader::key_at`] reads the key, or
    /// the caller recognises it by its bytes (`Spelled`) and calls
    /// [`ObjectReader::value_at`].
    #[inline(always)]
    pub fn next_member(&mut self) -> Result<Option<usize>, Invalid> {
        let doc = self.doc;
        let mut p = self.pos;
        if self.first {
            self.first = false;
            p = ws(doc, p);
            if doc.get(p) == Some(&b'}') {
                self.pos = p + 1;
                return Ok(None);
            }
        } else {
            // `,"` is what compact JSON has between members.
            if doc.get(p) != Some(&b',') {
                p = ws(doc, p);
                match doc.get(p) {
                    Some(b',') => {}
                    Some(b'}') => {
                        self.pos = p + 1;
                        return Ok(None);
                    }
                    _ => return Err(Invalid),
                }
            }
            p += 1;
        }
        Ok(Some(p))
    }

    /// Reads and validates the key of the member at `at` (from
    /// [`ObjectReader::next_member`]), its colon and the whitespace after it, leaving
    /// [`ObjectReader::pos`] at the value.
    #[inline(always)]
    pub fn key_at(&mut self, at: usize) -> Result<Key<'a>, Invalid> {
        let doc = self.doc;
        let (open, close, value, escaped) = checked_key(doc, at)?;
        self.pos = value;
        Ok(Key {
            raw: doc.get(open + 1..close).unwrap_or_default(),
            escaped,
        })
    }

    /// The next key as the caller names its keys: recognised from its bytes by
    /// `spelled` (a table of `Spelled` keys: the name and the offset after the
    /// colon), else read, validated and named by `name`; the reader is left at the
    /// value either way. `None` once the closing brace is read.
    #[inline(always)]
    pub fn next_named<K>(
        &mut self,
        spelled: impl Fn(&[u8], usize) -> Option<(K, usize)>,
        name: impl Fn(&[u8]) -> K,
    ) -> Result<Option<K>, Invalid> {
        let Some(at) = self.next_member()? else {
            return Ok(None);
        };
        if let Some((key, after_colon)) = spelled(self.doc, at) {
            self.value_at(after_colon);
            return Ok(Some(key));
        }
        let key = self.key_at(at)?;
        Ok(Some(name(&key.name())))
    }

    /// After a key recognised by its bytes, with its colon ending at `after_colon`:
    /// leaves [`ObjectReader::pos`] at the value, as [`ObjectReader::key_at`] would.
    #[inline(always)]
    pub fn value_at(&mut self, after_colon: usize) {
        self.pos = ws(self.doc, after_colon);
    }

    /// Validates and steps over the value at the cursor.
    #[inline(always)]
    pub fn skip(&mut self) -> Result<(), Invalid> {
        self.pos = checked_value(self.doc, self.pos)?;
        Ok(())
    }

    /// The value at the cursor, validated and stepped over: its span in the document
    /// and kind.
    #[inline]
    pub fn span(&mut self) -> Result<(usize, usize, Kind), Invalid> {
        let start = self.pos;
        let kind = kind_of(self.doc.get(start).copied().unwrap_or(0));
        self.pos = checked_value(self.doc, start)?;
        Ok((start, self.pos, kind))
    }

    /// If the value at the cursor is a string: validated and stepped over, its raw
    /// contents and whether they hold an escape. `None` (cursor unmoved) otherwise.
    #[inline(always)]
    pub fn string(&mut self) -> Result<Option<Key<'a>>, Invalid> {
        let open = self.pos;
        if self.doc.get(open) != Some(&b'"') {
            return Ok(None);
        }
        let (close, escaped) = checked_string(self.doc, open)?;
        self.pos = close + 1;
        Ok(Some(Key {
            raw: self.doc.get(open + 1..close).unwrap_or_default(),
            escaped,
        }))
    }

    /// Whether the value at the cursor is an object (to be read in place).
    #[inline(always)]
    pub fn at_object(&self) -> bool {
        self.doc.get(self.pos) == Some(&b'{')
    }

    /// Moves the cursor past a nested value read separately, which ended at `end`.
    #[inline(always)]
    pub fn resume(&mut self, end: usize) {
        self.pos = end;
    }
}

/// The end (exclusive) and kind of the value starting at `pos` (no leading
/// whitespace). Containers are skipped with a bracket counter, so this is cheap
/// and depth-independent; it assumes [`validate`] accepted the document and only
/// guarantees not to panic (and to report truncation) otherwise.
pub fn value_end(doc: &[u8], pos: usize) -> Result<(usize, Kind), ScanError> {
    let Some(&first) = doc.get(pos) else {
        return Err(ScanError::at(ErrorKind::Truncated, doc.len()));
    };
    let kind = match first {
        b'{' => Kind::Object,
        b'[' => Kind::Array,
        b'"' => {
            let close = skip_string(doc, pos);
            if close >= doc.len() {
                return Err(ScanError::at(ErrorKind::Truncated, doc.len()));
            }
            return Ok((close + 1, Kind::String));
        }
        b'-' | b'0'..=b'9' => return Ok((number_end(doc, pos)?, Kind::Number)),
        b't' => return Ok((literal_end(doc, pos, b"true")?, Kind::Bool)),
        b'f' => return Ok((literal_end(doc, pos, b"false")?, Kind::Bool)),
        b'n' => return Ok((literal_end(doc, pos, b"null")?, Kind::Null)),
        other => return Err(ScanError::at(ErrorKind::UnexpectedByte(other), pos)),
    };
    // Token by token: between the strings of compact JSON there are only one or two
    // bytes (`":"`, `","`), so reading them directly is cheaper than a word scan;
    // string contents are skipped eight bytes at a time.
    let mut depth: usize = 0;
    let mut p = pos;
    while let Some(&b) = doc.get(p) {
        match b {
            b'"' => {
                p = skip_string(doc, p);
                // `":"` and `","` between strings: straight on to the next string.
                while let Some(&[b':' | b',', b'"']) = doc.get(p + 1..p + 3) {
                    p = skip_string(doc, p + 2);
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Ok((p + 1, kind));
                }
            }
            _ => {}
        }
        p += 1;
    }
    Err(ScanError::at(ErrorKind::Truncated, doc.len()))
}

/// A JSON value inside a validated document: its kind and its exact bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    pub kind: Kind,
    pub bytes: &'a [u8],
}

impl<'a> Value<'a> {
    /// The value at the start of `doc` (after whitespace), if `doc` is a validated
    /// document.
    pub fn parse_validated(doc: &'a [u8]) -> Result<Value<'a>, ScanError> {
        let start = skip_ws(doc, 0);
        // A validated document is exactly one value, so a container ends at the last
        // byte that is not whitespace: no need to walk it to find its end.
        let end = doc.iter().rposition(|&b| !is_ws(b)).map_or(0, |i| i + 1);
        let kind = match (doc.get(start), end.checked_sub(1).and_then(|i| doc.get(i))) {
            (Some(b'{'), Some(b'}')) => Some(Kind::Object),
            (Some(b'['), Some(b']')) => Some(Kind::Array),
            _ => None,
        };
        if let (Some(kind), true) = (kind, end > start + 1) {
            let bytes = doc.get(start..end).unwrap_or_default();
            return Ok(Value { kind, bytes });
        }
        let (end, kind) = value_end(doc, start)?;
        let bytes = doc.get(start..end).unwrap_or_default();
        Ok(Value { kind, bytes })
    }

    /// The string's raw contents (between the quotes), if this is a string.
    pub fn as_raw_str(&self) -> Option<RawStr<'a>> {
        if self.kind != Kind::String {
            return None;
        }
        let inner = self.bytes.get(1..self.bytes.len().checked_sub(1)?)?;
        Some(RawStr::new(inner))
    }

    /// The decoded string, if this is a string that decodes.
    pub fn decode_str(&self) -> Option<Cow<'a, str>> {
        self.as_raw_str()?.decode().ok()
    }

    /// The members of this object (`None` if it is not one).
    pub fn members(&self) -> Option<Members<'a>> {
        (self.kind == Kind::Object).then_some(Members {
            doc: self.bytes,
            pos: 1,
            done: false,
            closed: None,
        })
    }

    /// The elements of this array (`None` if it is not one).
    pub fn elements(&self) -> Option<Elements<'a>> {
        (self.kind == Kind::Array).then_some(Elements {
            doc: self.bytes,
            pos: 1,
            done: false,
        })
    }
}

/// A JSON string's raw bytes between the quotes, escapes not yet decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawStr<'a> {
    pub raw: &'a [u8],
    /// Whether `raw` holds a backslash (then it must be decoded to be compared).
    escaped: bool,
}

impl<'a> RawStr<'a> {
    /// The string whose raw contents (between the quotes) are `raw`.
    pub fn new(raw: &'a [u8]) -> RawStr<'a> {
        RawStr {
            raw,
            escaped: raw.contains(&b'\\'),
        }
    }

    /// Whether the decoded string is `text`. JSON-equivalent spellings are the same
    /// key: `"\u0065ventName"` is `eventName` (the prefilter decodes keys the same
    /// way). A string that does not decode (a lone surrogate) equals nothing.
    #[inline]
    pub fn is(&self, text: &str) -> bool {
        if self.escaped {
            return decode_string(self.raw).is_ok_and(|d| d == text);
        }
        self.raw == text.as_bytes()
    }

    /// The decoded bytes, borrowed unless there are escapes; the raw bytes if the
    /// string does not decode (so it matches no wanted name). Keys are matched on
    /// this.
    #[inline]
    pub fn name(&self) -> Cow<'a, [u8]> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        match decode_string(self.raw) {
            Ok(Cow::Owned(text)) => Cow::Owned(text.into_bytes()),
            Ok(Cow::Borrowed(text)) => Cow::Borrowed(text.as_bytes()),
            Err(_) => Cow::Borrowed(self.raw),
        }
    }

    /// Decodes escapes; borrowed when there are none.
    pub fn decode(&self) -> Result<Cow<'a, str>, ScanError> {
        decode_string(self.raw)
    }
}

/// Iterator over the members of one object of a validated document, in order.
/// Yields `Err` (once, then ends) only if the document was not validated.
pub struct Members<'a> {
    doc: &'a [u8],
    pos: usize,
    done: bool,
    /// The offset just past the closing brace, once the walk has reached it.
    closed: Option<usize>,
}

impl<'a> Iterator for Members<'a> {
    type Item = Result<(RawStr<'a>, Value<'a>), ScanError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

impl<'a> Members<'a> {
    /// The next key, leaving the cursor at its value: take the value with
    /// [`Members::value`], or walk into an object value with [`Members::enter`]
    /// (which saves skipping it first). `None` at the closing brace.
    pub fn next_key(&mut self) -> Option<Result<RawStr<'a>, ScanError>> {
        if self.done {
            return None;
        }
        let item = self.key_step();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }

    /// The value at the cursor (just after [`Members::next_key`]), skipped whole.
    pub fn value(&mut self) -> Result<Value<'a>, ScanError> {
        let start = self.pos;
        match value_end(self.doc, start) {
            Ok((end, kind)) => {
                self.pos = end;
                let bytes = self.doc.get(start..end).unwrap_or_default();
                Ok(Value { kind, bytes })
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// The members of the object at the cursor (just after [`Members::next_key`]),
    /// without finding its end first; `None` if the value is not an object. Walk
    /// them to the end, then call [`Members::resume_after`].
    pub fn enter(&self) -> Option<Members<'a>> {
        let rest = self.doc.get(self.pos..)?;
        (rest.first() == Some(&b'{')).then_some(Members {
            doc: rest,
            pos: 1,
            done: false,
            closed: None,
        })
    }

    /// Moves the cursor past an object walked with [`Members::enter`]. `false`, and
    /// this walk ends too, if `nested` did not reach its closing brace.
    pub fn resume_after(&mut self, nested: &Members<'a>) -> bool {
        match nested.closed {
            Some(end) => {
                self.pos += end;
                true
            }
            None => {
                self.done = true;
                false
            }
        }
    }

    fn key_step(&mut self) -> Option<Result<RawStr<'a>, ScanError>> {
        let doc = self.doc;
        let mut pos = skip_ws(doc, self.pos);
        match doc.get(pos) {
            Some(b'}') => {
                self.closed = Some(pos + 1);
                return None;
            }
            None => return None,
            Some(b',') => pos = skip_ws(doc, pos + 1),
            Some(_) => {}
        }
        if doc.get(pos) != Some(&b'"') {
            let b = doc.get(pos).copied().unwrap_or(0);
            return Some(Err(ScanError::at(ErrorKind::UnexpectedByte(b), pos)));
        }
        let Some((close, escaped)) = string_close(doc, pos) else {
            return Some(Err(ScanError::at(ErrorKind::Truncated, doc.len())));
        };
        let key = RawStr {
            raw: doc.get(pos + 1..close).unwrap_or_default(),
            escaped,
        };
        pos = skip_ws(doc, close + 1);
        if doc.get(pos) != Some(&b':') {
            let b = doc.get(pos).copied().unwrap_or(0);
            return Some(Err(ScanError::at(ErrorKind::UnexpectedByte(b), pos)));
        }
        self.pos = skip_ws(doc, pos + 1);
        Some(Ok(key))
    }

    fn step(&mut self) -> Option<Result<(RawStr<'a>, Value<'a>), ScanError>> {
        let key = match self.key_step()? {
            Ok(key) => key,
            Err(e) => return Some(Err(e)),
        };
        Some(self.value().map(|value| (key, value)))
    }
}

/// Iterator over the elements of one array of a validated document, in order.
pub struct Elements<'a> {
    doc: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Value<'a>, ScanError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let doc = self.doc;
        let mut pos = skip_ws(doc, self.pos);
        match doc.get(pos) {
            Some(b']') | None => {
                self.done = true;
                return None;
            }
            Some(b',') => pos = skip_ws(doc, pos + 1),
            Some(_) => {}
        }
        match value_end(doc, pos) {
            Ok((end, kind)) => {
                self.pos = end;
                let bytes = doc.get(pos..end).unwrap_or_default();
                Some(Ok(Value { kind, bytes }))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The offset of the first occurrence of `needle` in `haystack` (`str::find` for
/// UTF-8 text), where `str::find` sets up a two-way searcher that costs about a
/// thousand wasm instructions on a 60-byte ARN. Eight possible starts are tried per
/// step: a start is compared in full only where its byte equals the needle's first
/// and the byte `needle.len() - 1` on equals its last (an ARN has many `:` but few
/// `:` followed thirteen bytes on by `/`).
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    find_by::<false>(haystack, needle)
}

/// [`find`] ignoring ASCII case: the first offset where `haystack`, its ASCII
/// letters lowered, holds `lowered` (a needle without ASCII capitals). Eight starts
/// per step as in [`find`], on words lowered at once.
pub fn find_ascii_lowercase(haystack: &[u8], lowered: &[u8]) -> Option<usize> {
    find_by::<true>(haystack, lowered)
}

/// [`find`], with `LOWER` [`find_ascii_lowercase`]: one search loop, each variant
/// compiled on its own (the constant folds away).
#[inline(always)]
fn find_by<const LOWER: bool>(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (Some(&first), Some(&last)) = (needle.first(), needle.last()) else {
        return Some(0);
    };
    let tail = needle.len() - 1;
    let last_start = haystack.len().checked_sub(needle.len())?;
    let lower = |w: u64| if LOWER { lower_ascii(w) } else { w };
    let byte_at = |at: usize| {
        let b = haystack.get(at).copied();
        if LOWER {
            b.map(|b| b.to_ascii_lowercase())
        } else {
            b
        }
    };
    let matches_at = |at: usize| {
        haystack.get(at..at + needle.len()).is_some_and(|window| {
            if LOWER {
                window
                    .iter()
                    .zip(needle)
                    .all(|(b, l)| b.to_ascii_lowercase() == *l)
            } else {
                bytes_eq(window, needle)
            }
        })
    };
    let (firsts, lasts) = (ONES * u64::from(first), ONES * u64::from(last));
    let mut at = 0;
    // Both words lie inside `haystack` while the eighth start is a possible start.
    while at + 7 <= last_start {
        let (Some(heads), Some(tails)) = (word_at(haystack, at), word_at(haystack, at + tail))
        else {
            break;
        };
        // A high bit for each zero byte of both differences (and possibly above a
        // zero byte: every candidate is compared in full).
        let (h, t) = (lower(heads) ^ firsts, lower(tails) ^ lasts);
        let mut candidates = (h.wrapping_sub(ONES) & !h) & (t.wrapping_sub(ONES) & !t) & HIGHS;
        while candidates != 0 {
            let start = at + (candidates.trailing_zeros() / 8) as usize;
            if matches_at(start) {
                return Some(start);
            }
            candidates &= candidates - 1;
        }
        at += 8;
    }
    (at..=last_start).find(|&start| byte_at(start) == Some(first) && matches_at(start))
}

/// `u8::to_ascii_lowercase` on each byte of `w`: `A`–`Z` gain 0x20, every other
/// byte (non-ASCII included) stays. Seven-bit sums carry into no other byte.
#[inline]
fn lower_ascii(w: u64) -> u64 {
    let low7 = w & !HIGHS;
    let from_a = low7 + ONES * u64::from(0x80 - b'A');
    let past_z = low7 + ONES * u64::from(0x80 - b'Z' - 1);
    let capital = from_a & !past_z & !w & HIGHS;
    w | (capital >> 2)
}

/// A hash of four words of a value's first 64 bytes: for a `userIdentity` object,
/// its type and principal id. The value memories pick their slot by it.
#[inline]
pub fn prefix_hash(value: &[u8]) -> u64 {
    let word = |at: usize| word_at(value, at).unwrap_or(0);
    (word(8) ^ word(24).rotate_left(17) ^ word(40).rotate_left(31) ^ word(56))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        | 1
}

/// Whether `key` is `literal` (a constant: a key name the readers look for). From
/// eight to sixteen bytes: the first and the last eight bytes, overlapping, which
/// with a literal fold into two constants and no call; shorter keys as
/// [`short_eq`] compares them, longer ones by [`bytes_eq`].
#[inline(always)]
pub fn is_literal(key: &[u8], literal: &[u8]) -> bool {
    let n = literal.len();
    if key.len() != n {
        return false;
    }
    match n {
        8..=16 => {
            word_at(key, 0) == word_at(literal, 0) && word_at(key, n - 8) == word_at(literal, n - 8)
        }
        17.. => bytes_eq(key, literal),
        0..=7 => short_eq(key, literal),
    }
}

/// A key as compact JSON spells it, `"name":`, recognised from its bytes by the
/// walks that read the keys AWS writes: the first eight bytes after the opening
/// quote (the whole spelling, under a mask, for a name under six bytes), which
/// [`spelled_key!`] tests first with [`Spelled::fits`] among a table; then the eight
/// bytes that end at the colon and, for a name over 14 bytes, the eight after the
/// first, so that every byte of `"name":` is compared. Those bytes can only be that
/// key, without escapes and valid, so a walk that recognises them reads what reading
/// the key would give; any other spelling goes the general way.
pub(crate) struct Spelled<K> {
    head: u64,
    mask: u64,
    middle: Option<u64>,
    tail: Option<u64>,
    /// `"name":` is this long.
    width: usize,
    key: K,
}

impl<K: Copy> Spelled<K> {
    /// For `const` items only, so that it is evaluated at compile time (where an
    /// out-of-range name is a build error, never a trap); names are 1 to 22 bytes.
    #[allow(clippy::indexing_slicing)]
    pub const fn new(name: &[u8], key: K) -> Spelled<K> {
        let n = name.len();
        assert!(n >= 1 && n <= 22, "spelled key names are 1 to 22 bytes");
        // `"name":` without its opening quote.
        let m = n + 2;
        let mut spelled = [0u8; 24];
        let mut i = 0;
        while i < n {
            spelled[i] = name[i];
            i += 1;
        }
        spelled[n] = b'"';
        spelled[n + 1] = b':';
        let mask = if m >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * m)) - 1
        };
        Spelled {
            head: le_word(&spelled, 0) & mask,
            mask,
            middle: if m > 16 {
                Some(le_word(&spelled, 8))
            } else {
                None
            },
            tail: if m > 8 {
                Some(le_word(&spelled, m - 8))
            } else {
                None
            },
            width: n + 3,
            key,
        }
    }

    /// Whether the [`spelled_head`] of a key can be this one's.
    #[inline(always)]
    pub fn fits(&self, head: u64) -> bool {
        head & self.mask == self.head
    }

    /// When the key at `pos` is `"name":`: the key and the offset just past the
    /// colon. Only for a key whose [`spelled_head`] the caller has found to
    /// [`fit`](Spelled::fits): the head is not compared again (a short name has
    /// nothing else to compare).
    #[inline(always)]
    pub fn rest(&self, doc: &[u8], pos: usize) -> Option<(K, usize)> {
        debug_assert!(spelled_head(doc, pos).is_some_and(|head| self.fits(head)));
        // `pos` holds the key's quote, so it is below the document's length (at most
        // `isize::MAX`): no overflow.
        let value = pos + self.width;
        if let Some(tail) = self.tail {
            if word_at(doc, value - 8)? != tail {
                return None;
            }
        }
        if let Some(middle) = self.middle {
            if word_at(doc, pos + 9)? != middle {
                return None;
            }
        }
        Some((self.key, value))
    }
}

/// The key at `at` in `doc`, recognised from its bytes among `name => key` pairs
/// of type `K` ([`Spelled`], each built at compile time), with the offset just past
/// its colon; `None` for any other key or spelling. List names under six bytes
/// first: their heads are compared under a mask; the others are whole words, which
/// the compiler matches as one switch.
macro_rules! spelled_key {
    ($doc:expr, $at:expr, $k:ty, { $($name:literal => $key:expr),+ $(,)? }) => {{
        let (doc, at): (&[u8], usize) = ($doc, $at);
        match $crate::scan::spelled_head(doc, at) {
            None => None,
            Some(head) => 'found: {
                $({
                    const SPELLED: $crate::scan::Spelled<$k> =
                        $crate::scan::Spelled::new($name, $key);
                    if SPELLED.fits(head) {
                        break 'found SPELLED.rest(doc, at);
                    }
                })+
                None
            }
        }
    }};
}
pub(crate) use spelled_key;

/// The keys AWS writes first in a CloudTrail event, in its order, up to the source
/// address: the names both walks recognise by their bytes (for their tests).
#[cfg(test)]
pub(crate) const AWS_FIRST_KEYS: [&str; 7] = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
];

/// The little-endian word of `bytes[at..at + 8]`, at compile time.
#[allow(clippy::indexing_slicing)]
const fn le_word(bytes: &[u8; 24], at: usize) -> u64 {
    let mut w = 0u64;
    let mut k = 0;
    while k < 8 {
        w |= (bytes[at + k] as u64) << (8 * k);
        k += 1;
    }
    w
}

/// The eight bytes after the opening quote of the key at `pos`: what a
/// [`Spelled::head`] is compared with. `None` if `pos` holds no quote.
#[inline(always)]
pub(crate) fn spelled_head(doc: &[u8], pos: usize) -> Option<u64> {
    if doc.get(pos) != Some(&b'"') {
        return None;
    }
    word_at(doc, pos + 1)
}

/// `text.starts_with(prefix)`: how the value memories of the prefilter and the
/// reader recognise bytes they have read before. See [`bytes_eq`].
#[inline]
pub fn starts_with(text: &[u8], prefix: &[u8]) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| bytes_eq(head, prefix))
}

/// `a == b` for byte strings, without `memcmp`.
///
/// In wasm the compiler turns a slice comparison of unknown length into a call of
/// `memcmp`, which compares one byte per step (17 instructions a byte). Here: four
/// words per step while thirty-two bytes remain, then whole words, the last one
/// overlapping bytes already compared; strings under eight bytes by two
/// overlapping halves. Exact chunks of a fixed size let the compiler drop every
/// bounds check inside a step.
#[inline]
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return short_eq(a, b);
    }
    let mut ours = a.chunks_exact(32);
    let mut theirs = b.chunks_exact(32);
    for (x, y) in (&mut ours).zip(&mut theirs) {
        if chunk_differs(x, y) {
            return false;
        }
    }
    let (x, y) = (ours.remainder(), theirs.remainder());
    let mut at = 0;
    while at + 8 < x.len() {
        if word_at(x, at) != word_at(y, at) {
            return false;
        }
        at += 8;
    }
    // The last eight bytes of the whole strings (n >= 8), overlapping.
    word_at(a, n - 8) == word_at(b, n - 8)
}

/// `a == b` for strings of equal length under eight bytes.
#[inline(always)]
fn short_eq(a: &[u8], b: &[u8]) -> bool {
    let half = |s: &[u8], at: usize| {
        s.get(at..at + 4)
            .and_then(|h| <[u8; 4]>::try_from(h).ok())
            .map(u32::from_le_bytes)
    };
    let n = a.len();
    if n >= 4 {
        return half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4);
    }
    // Zero to three bytes: first, middle and last.
    a.first() == b.first() && a.get(1) == b.get(1) && a.last() == b.last()
}

/// Whether two 32-byte chunks differ, compared as four words.
#[inline(always)]
fn chunk_differs(a: &[u8], b: &[u8]) -> bool {
    (0..4).any(|i| word_at(a, i * 8) != word_at(b, i * 8))
}

/// The offset of the first backslash in `text`, eight bytes at a time.
#[inline]
pub fn find_backslash(text: &[u8]) -> Option<usize> {
    let mut pos = 0;
    while let Some(chunk) = text.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk) ^ (ONES * u64::from(b'\\'));
        let hit = w.wrapping_sub(ONES) & !w & HIGHS;
        if hit != 0 {
            return Some(pos + (hit.trailing_zeros() / 8) as usize);
        }
        pos += 8;
    }
    text.get(pos..)?
        .iter()
        .position(|&b| b == b'\\')
        .map(|i| pos + i)
}

/// Decodes the raw contents of a JSON string (between the quotes): borrowed when
/// there is no backslash, else unescaped into a new `String`. `\uXXXX` surrogate
/// pairs combine; a lone surrogate, a bad escape or invalid UTF-8 is an error.
pub fn decode_string(raw: &[u8]) -> Result<Cow<'_, str>, ScanError> {
    let Some(first_escape) = find_backslash(raw) else {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|e| ScanError::at(ErrorKind::InvalidUtf8, e.valid_up_to()));
    };
    let mut out = String::with_capacity(raw.len());
    let mut pos = 0;
    let mut next_escape = Some(first_escape);
    while let Some(esc) = next_escape {
        let plain = raw.get(pos..esc).unwrap_or_default();
        let plain = std::str::from_utf8(plain)
            .map_err(|e| ScanError::at(ErrorKind::InvalidUtf8, pos + e.valid_up_to()))?;
        out.push_str(plain);
        let Some(&e) = raw.get(esc + 1) else {
            return Err(ScanError::at(ErrorKind::Truncated, raw.len()));
        };
        pos = esc + 2;
        let c = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = hex4(raw, esc + 2)?;
                pos = esc + 6;
                match high {
                    0xD800..=0xDBFF => {
                        // Must be followed by `\uDC00`–`\uDFFF`.
                        if raw.get(pos..pos + 2) != Some(b"\\u") {
                            return Err(ScanError::at(ErrorKind::LoneSurrogate, esc));
                        }
                        let low = hex4(raw, pos + 2)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(ScanError::at(ErrorKind::LoneSurrogate, esc));
                        }
                        pos += 6;
                        let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                        char::from_u32(code).ok_or(ScanError::at(ErrorKind::LoneSurrogate, esc))?
                    }
                    0xDC00..=0xDFFF => return Err(ScanError::at(ErrorKind::LoneSurrogate, esc)),
                    _ => {
                        char::from_u32(high).ok_or(ScanError::at(ErrorKind::InvalidEscape, esc))?
                    }
                }
            }
            _ => return Err(ScanError::at(ErrorKind::InvalidEscape, esc)),
        };
        out.push(c);
        next_escape = raw.get(pos..).and_then(find_backslash).map(|i| pos + i);
    }
    let tail = raw.get(pos..).unwrap_or_default();
    let tail = std::str::from_utf8(tail)
        .map_err(|e| ScanError::at(ErrorKind::InvalidUtf8, pos + e.valid_up_to()))?;
    out.push_str(tail);
    Ok(Cow::Owned(out))
}

/// Four hex digits at `pos` as a number.
fn hex4(raw: &[u8], pos: usize) -> Result<u32, ScanError> {
    let digits = raw
        .get(pos..pos + 4)
        .ok_or(ScanError::at(ErrorKind::Truncated, raw.len()))?;
    let mut value = 0u32;
    for &d in digits {
        let v = (d as char)
            .to_digit(16)
            .ok_or(ScanError::at(ErrorKind::InvalidEscape, pos))?;
        value = value * 16 + v;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(doc: &[u8]) -> ErrorKind {
        match validate(doc) {
            Err(e) => e.kind,
            Ok(kind) => unreachable!("accepted {:?} as {kind:?}", String::from_utf8_lossy(doc)),
        }
    }

    /// `bytes_eq` against the standard library: every length up to three chunks and
    /// a bit, equal, one byte changed at every place, and one byte shorter.
    #[test]
    fn specials_in_a_text_are_the_documents() {
        for len in 0..40usize {
            for first in 0..=len {
                for second in [first, first + 1, first + 7, len.saturating_sub(1)] {
                    for special in [b'"', b'\\', b'\n', 0x1f, 0x7f, 0x80, 0xff] {
                        let text: Vec<u8> = (0..len)
                            .map(|i| {
                                if i == first || i == second {
                                    special
                                } else {
                                    b'a' + (i % 26) as u8
                                }
                            })
                            .collect();
                        for pos in 0..=len + 1 {
                            assert_eq!(
                                next_string_special_in(&text, pos),
                                next_string_special(&text, pos),
                                "{len} {first} {second} {special} {pos}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// `is_plain_ascii` against a byte-by-byte test: every byte value at every place
    /// of texts up to five words (40 bytes), in the whole words, in the overlapping
    /// last one and in the padded word of a text under eight bytes.
    #[test]
    fn plain_text_has_no_special_byte() {
        let plain = |text: &[u8]| {
            text.iter()
                .all(|&b| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\')
        };
        for len in 0..=40usize {
            let base: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(is_plain_ascii(&base), "{len}");
            for at in 0..len {
                for special in 0..=255u8 {
                    let mut text = base.clone();
                    text[at] = special;
                    assert_eq!(is_plain_ascii(&text), plain(&text), "{len} {at} {special}");
                }
            }
        }
    }

    #[test]
    fn lowered_words_are_lowered_bytes() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut bytes = [b'm'; 8];
                bytes[at] = b;
                let mut lowered = bytes;
                lowered.make_ascii_lowercase();
                assert_eq!(
                    lower_ascii(u64::from_le_bytes(bytes)),
                    u64::from_le_bytes(lowered),
                    "{b} at {at}"
                );
            }
        }
    }

    #[test]
    fn find_ascii_lowercase_agrees_with_a_window_search() {
        let haystack: Vec<u8> = (0..60u32)
            .map(|i| b"aAbB-:\xc3"[(i.wrapping_mul(2654435761) >> 9) as usize % 7])
            .collect();
        let naive = |h: &[u8], n: &[u8]| {
            if n.is_empty() {
                return Some(0);
            }
            h.windows(n.len()).position(|w| w.to_ascii_lowercase() == n)
        };
        for len in 0..=haystack.len() {
            let h = &haystack[..len];
            for start in 0..len {
                for n in 1..=(len - start).min(14) {
                    let needle = h[start..start + n].to_ascii_lowercase();
                    assert_eq!(
                        find_ascii_lowercase(h, &needle),
                        naive(h, &needle),
                        "{len} {start} {n}"
                    );
                    let mut changed = needle.clone();
                    changed[n / 2] = b'x';
                    assert_eq!(
                        find_ascii_lowercase(h, &changed),
                        naive(h, &changed),
                        "{len} {start} {n}"
                    );
                }
            }
        }
        assert_eq!(find_ascii_lowercase(b"My-LAMBDA-role", b"lambda"), Some(3));
    }

    #[test]
    fn find_agrees_with_a_window_search() {
        // A small alphabet makes partial matches, repeated first and last bytes and
        // matches that straddle the eight-byte steps common.
        let haystack: Vec<u8> = (0..70u32)
            .map(|i| b"ab:/"[(i.wrapping_mul(2654435761) >> 7) as usize % 4])
            .collect();
        let naive = |h: &[u8], n: &[u8]| {
            if n.is_empty() {
                return Some(0);
            }
            h.windows(n.len()).position(|w| w == n)
        };
        for len in 0..=haystack.len() {
            let h = &haystack[..len];
            for start in 0..len {
                for n in 1..=(len - start).min(20) {
                    let needle = &h[start..start + n];
                    assert_eq!(find(h, needle), naive(h, needle), "{len} {start} {n}");
                    let mut changed = needle.to_vec();
                    changed[n / 2] = b'x';
                    assert_eq!(find(h, &changed), naive(h, &changed), "{len} {start} {n}");
                }
            }
            assert_eq!(find(h, b""), Some(0));
            assert_eq!(find(h, b"x"), None);
        }
        assert_eq!(
            find(b"arn:aws:sts::1:assumed-role/r/s", b":assumed-role/"),
            Some(14)
        );
    }

    #[test]
    fn bytes_eq_agrees_with_std() {
        let text: Vec<u8> = (0..110u8).map(|b| b.wrapping_mul(29) ^ 0x55).collect();
        for len in 0..=text.len() {
            let a = &text[..len];
            let copy = a.to_vec();
            assert!(bytes_eq(a, &copy), "length {len}");
            if len > 0 {
                assert!(!bytes_eq(a, &text[..len - 1]));
            }
            for at in 0..len {
                let mut changed = a.to_vec();
                changed[at] = changed[at].wrapping_add(1);
                assert!(!bytes_eq(a, &changed), "length {len}, byte {at} changed");
            }
        }
    }

    /// The word-wise comparison against the standard library: every prefix length
    /// up to three chunks and a bit, equal, one byte changed at every place, and a
    /// text shorter than the prefix.
    #[test]
    fn starts_with_agrees_with_std() {
        let text: Vec<u8> = (0..110u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..=text.len() {
            let prefix = text[..len].to_vec();
            assert!(starts_with(&text, &prefix), "equal prefix of {len}");
            assert_eq!(starts_with(&prefix[..len / 2], &prefix), len == 0);
            for at in 0..len {
                let mut changed = prefix.clone();
                changed[at] ^= 0x20;
                assert_eq!(
                    starts_with(&text, &changed),
                    text.starts_with(&changed),
                    "length {len}, byte {at} changed"
                );
                assert!(!starts_with(&text, &changed));
            }
        }
    }

    #[test]
    fn accepts_valid_documents() {
        for (doc, kind) in [
            (&b"{}"[..], Kind::Object),
            (b" \r\n\t{ } \r\n", Kind::Object),
            (b"[]", Kind::Array),
            (b"[1,-0,0.5,1e9,-2.5E-3,1E+2]", Kind::Array),
            (b"\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"", Kind::String),
            (b"{\"a\":{\"b\":[true,false,null,{}]},\"c\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", Kind::Object),
            (b"123456789012345678901234567890e999999", Kind::Number),
            (b"null", Kind::Null),
            (b"{\"a\":1,\"a\":2}", Kind::Object),
        ] {
            assert_eq!(validate(doc), Ok(kind), "{:?}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn rejects_malformed_documents() {
        assert_eq!(err(b""), ErrorKind::Empty);
        assert_eq!(err(b"   "), ErrorKind::Empty);
        assert_eq!(err(b"{\"a\":1"), ErrorKind::Truncated);
        assert_eq!(err(b"{\"a\":\"abc"), ErrorKind::Truncated);
        assert_eq!(err(b"{\"a\":tru"), ErrorKind::Truncated);
        assert_eq!(err(b"{\"a\""), ErrorKind::Truncated);
        assert_eq!(err(b"[1,2"), ErrorKind::Truncated);
        assert_eq!(err(b"{\"a\":1}}"), ErrorKind::TrailingData);
        assert_eq!(err(b"{} {}"), ErrorKind::TrailingData);
        assert_eq!(err(b"{\"a\":1,}"), ErrorKind::UnexpectedByte(b'}'));
        assert_eq!(err(b"[1,]"), ErrorKind::UnexpectedByte(b']'));
        assert_eq!(err(b"{\"a\" 1}"), ErrorKind::UnexpectedByte(b'1'));
        assert_eq!(err(b"{a:1}"), ErrorKind::UnexpectedByte(b'a'));
        assert_eq!(err(b"[1}"), ErrorKind::UnexpectedByte(b'}'));
        assert_eq!(err(b"{\"a\":1]"), ErrorKind::UnexpectedByte(b']'));
        assert_eq!(err(b"{\"a\":01}"), ErrorKind::UnexpectedByte(b'1'));
        assert_eq!(err(b"[1.]"), ErrorKind::InvalidNumber);
        assert_eq!(err(b"[1e]"), ErrorKind::InvalidNumber);
        assert_eq!(err(b"[-]"), ErrorKind::InvalidNumber);
        assert_eq!(err(b"[+1]"), ErrorKind::UnexpectedByte(b'+'));
        assert_eq!(err(b"[nul]"), ErrorKind::UnexpectedByte(b'n'));
        assert_eq!(err(b"[\"\\x\"]"), ErrorKind::InvalidEscape);
        assert_eq!(err(b"[\"\\u12g4\"]"), ErrorKind::InvalidEscape);
        assert_eq!(err(b"[\"a\tb\"]"), ErrorKind::ControlInString);
        assert_eq!(err(b"[\"a\0b\"]"), ErrorKind::ControlInString);
        assert_eq!(err(b"{\"a\":1}\0"), ErrorKind::TrailingData);
        assert_eq!(err(b"\xef\xbb\xbf{}"), ErrorKind::UnexpectedByte(0xef));
        // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong
        // encoding, a UTF-16 surrogate encoded in UTF-8, non-ASCII outside a string.
        assert_eq!(err(b"[\"a\x80\"]"), ErrorKind::InvalidUtf8);
        assert_eq!(err(b"[\"\xe2\x82\"]"), ErrorKind::InvalidUtf8);
        assert_eq!(err(b"[\"\xc0\xaf\"]"), ErrorKind::InvalidUtf8);
        assert_eq!(err(b"[\"\xed\xa0\x80\"]"), ErrorKind::InvalidUtf8);
        assert_eq!(err(b"[\xc3\xa9]"), ErrorKind::UnexpectedByte(0xc3));
        // A long string whose bad byte sits past the word-at-a-time fast path.
        let mut long = b"[\"".to_vec();
        long.extend_from_slice(&[b'x'; 37]);
        long.push(0x01);
        long.extend_from_slice(b"\"]");
        assert_eq!(
            validate(&long).map_err(|e| (e.kind, e.offset)),
            Err((ErrorKind::ControlInString, 39))
        );
    }

    #[test]
    fn crlf_between_tokens_is_whitespace() {
        assert_eq!(validate(b"{\r\n\"a\"\r\n:\r\n1\r\n}\r\n"), Ok(Kind::Object));
    }

    #[test]
    fn depth_100k_without_stack_growth() {
        let run = || {
            let depth = 100_000;
            let mut doc = Vec::with_capacity(depth * 6 + 10);
            for _ in 0..depth {
                doc.extend_from_slice(b"{\"a\":[");
            }
            doc.extend_from_slice(b"1");
            for _ in 0..depth {
                doc.extend_from_slice(b"]}");
            }
            let ok = validate(&doc) == Ok(Kind::Object);
            let skipped = value_end(&doc, 0) == Ok((doc.len(), Kind::Object));
            // One bracket short: truncated, still no recursion.
            let truncated =
                validate(doc.get(..doc.len() - 1).unwrap_or_default()).map_err(|e| e.kind);
            // A mismatched close deep inside is found.
            let mut bad = doc.clone();
            if let Some(b) = bad.get_mut(depth * 6 + 1) {
                *b = b'}';
            }
            (ok, skipped, truncated, validate(&bad).map_err(|e| e.kind))
        };
        let result = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(run)
            .map(|h| h.join());
        let Ok(Ok((ok, skipped, truncated, bad))) = result else {
            unreachable!("validator thread failed (stack overflow?)");
        };
        assert!(ok);
        assert!(skipped);
        assert_eq!(truncated, Err(ErrorKind::Truncated));
        assert_eq!(bad, Err(ErrorKind::UnexpectedByte(b'}')));
    }

    #[test]
    fn walks_members_and_elements() {
        let doc = br#" {"a" : "x\"y", "b":{"c":[1,{"d":"]}"}]}, "e":[true , null,"s",-1.5e3] } "#;
        assert_eq!(validate(doc), Ok(Kind::Object));
        let top = Value::parse_validated(doc).unwrap_or(Value {
            kind: Kind::Null,
            bytes: b"",
        });
        let members: Vec<_> = top
            .members()
            .into_iter()
            .flatten()
            .map_while(Result::ok)
            .collect();
        let keys: Vec<&[u8]> = members.iter().map(|(k, _)| k.raw).collect();
        assert_eq!(keys, [&b"a"[..], b"b", b"e"]);
        let values: Vec<(Kind, &[u8])> = members.iter().map(|(_, v)| (v.kind, v.bytes)).collect();
        assert_eq!(
            values,
            [
                (Kind::String, &br#""x\"y""#[..]),
                (Kind::Object, br#"{"c":[1,{"d":"]}"}]}"#),
                (Kind::Array, br#"[true , null,"s",-1.5e3]"#),
            ]
        );
        let elements: Vec<Kind> = members
            .get(2)
            .and_then(|(_, v)| v.elements())
            .into_iter()
            .flatten()
            .map_while(Result::ok)
            .map(|v| v.kind)
            .collect();
        assert_eq!(
            elements,
            [Kind::Bool, Kind::Null, Kind::String, Kind::Number]
        );
        assert_eq!(
            members.first().and_then(|(_, v)| v.decode_str()).as_deref(),
            Some("x\"y")
        );
    }

    #[test]
    fn walkers_on_broken_text_end_without_panicking() {
        for doc in [
            &b"{\"a\":"[..],
            b"{\"a\"",
            b"{\"a\":[1,2",
            b"{1:2}",
            b"{\"a\":\"",
            b"{\"a\" x",
        ] {
            let value = Value {
                kind: Kind::Object,
                bytes: doc,
            };
            let items: Vec<_> = value.members().into_iter().flatten().collect();
            assert!(
                items.last().is_some_and(Result::is_err),
                "{:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    #[test]
    fn decodes_strings() {
        fn d(raw: &[u8]) -> Result<Cow<'_, str>, ErrorKind> {
            decode_string(raw).map_err(|e| e.kind)
        }
        assert!(matches!(
            decode_string(b"plain"),
            Ok(Cow::Borrowed("plain"))
        ));
        assert_eq!(d(b"a\\\"b\\\\c\\/d").as_deref(), Ok("a\"b\\c/d"));
        assert_eq!(d(b"\\b\\f\\n\\r\\t").as_deref(), Ok("\u{8}\u{c}\n\r\t"));
        assert_eq!(
            d(b"caf\\u00e9 \\u20AC").as_deref(),
            Ok("caf\u{e9} \u{20ac}")
        );
        // U+1F600 is the surrogate pair D83D DE00.
        assert_eq!(d(b"\\ud83d\\ude00!").as_deref(), Ok("\u{1f600}!"));
        assert_eq!(d(b"\\u0000").as_deref(), Ok("\u{0}"));
        assert_eq!(d(b"\xc3\xa9\\n").as_deref(), Ok("\u{e9}\n"));
        assert_eq!(d(b"\\ud83d"), Err(ErrorKind::LoneSurrogate));
        assert_eq!(d(b"\\ud83dx"), Err(ErrorKind::LoneSurrogate));
        assert_eq!(d(b"\\ud83d\\u0041"), Err(ErrorKind::LoneSurrogate));
        assert_eq!(d(b"\\ude00"), Err(ErrorKind::LoneSurrogate));
        assert_eq!(d(b"\\u12"), Err(ErrorKind::Truncated));
        assert_eq!(d(b"\\uzzzz"), Err(ErrorKind::InvalidEscape));
        assert_eq!(d(b"\\q"), Err(ErrorKind::InvalidEscape));
        assert_eq!(d(b"x\\"), Err(ErrorKind::Truncated));
        assert_eq!(d(b"\xff"), Err(ErrorKind::InvalidUtf8));
        assert_eq!(d(b"\\n\xff"), Err(ErrorKind::InvalidUtf8));
    }

    #[test]
    fn agrees_with_serde_json_on_generated_documents() {
        // Mutations of a valid document: whatever validate accepts, serde_json
        // (a strict RFC 8259 parser, standing in for the router's parser) accepts.
        let base =
            br#"{"a":[1,2.5,-3e2,true,null,{"b":"x\u00e9\n\"y"}],"c":{"d":{}},"e":"\u00e9"}"#;
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"{}[]\":,.-+eE0123456789 \\utrfnlsa\x80\xc3\xa9\x00";
        for _ in 0..20_000 {
            let mut doc = base.to_vec();
            for _ in 0..(next() % 3 + 1) {
                let at = (next() as usize) % doc.len();
                let byte = alphabet
                    .get((next() as usize) % alphabet.len())
                    .copied()
                    .unwrap_or(b' ');
                match next() % 3 {
                    0 => doc.insert(at, byte),
                    1 => {
                        doc.remove(at);
                    }
                    _ => {
                        if let Some(b) = doc.get_mut(at) {
                            *b = byte;
                        }
                    }
                }
            }
            let ours = validate(&doc).is_ok();
            let theirs = serde_json::from_slice::<serde_json::Value>(&doc).is_ok();
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(&doc));
            // The one-pass reader's value check accepts exactly the same.
            let start = skip_ws(&doc, 0);
            let one_pass =
                checked_value(&doc, start).is_ok_and(|end| skip_ws(&doc, end) == doc.len());
            assert_eq!(one_pass, ours, "{:?}", String::from_utf8_lossy(&doc));
        }
    }
}
