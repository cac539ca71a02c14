//! Cheap rejection of the common record before any parse.
//!
//! Nearly every record is not a discovery call, and inside Fluent Bit's WAMR
//! interpreter each wasm instruction costs about 4–12 ns (measured; see
//! docs/BENCHMARKS.md), so a record must be turned away after as few instructions as
//! possible — but **never** when the full evaluation ([`crate::record`] and the
//! rules) would accept it, however the same JSON is spelled: escapes in keys and
//! values (`"event\u004eame"`, `\/`), whitespace, key order, look-alike keys nested
//! in other values, duplicate keys.
//!
//! **How: one structural walk over the top-level members**, the same members the full
//! evaluation reads, with the same rules: keys are compared decoded (an escaped key
//! is decoded first, as [`crate::scan::RawStr::name`] does), and the first occurrence
//! of a key wins. Values that do not matter are skipped eight bytes at a time
//! ([`scan::value_end`]); nested keys are never mistaken for top-level ones because
//! the walk steps over whole values. The keys AWS writes before `sourceIPAddress` are
//! recognised from their bytes first (`literal_member`), which reads the same key
//! at a third of the cost. Then:
//!
//! * The first top-level `eventName` makes the record a raw event (the first shape
//!   [`crate::record`] recognises: nothing after it can change the shape) and its value is the action.
//!   Not a string, or not a configured action after [`normalise_bytes`] → rejected
//!   on the spot, usually a third of the way into the record. A configured action →
//!   the source-address stage below.
//! * A top-level `eventSource` without any `eventName`: a raw event with no action,
//!   rejected at the end of the walk.
//! * `Records`, `detail`/`detail-type`, `event`/`event.action` (batch, EventBridge,
//!   ECS): the events sit deeper. If the record holds no backslash at all, every key
//!   in it is spelled literally, so a text search for every `"eventName"` key and
//!   every key ending in `action` ([`search`]) finds each action the full evaluation
//!   could read; one that is configured (or a value that cannot be judged from its
//!   bytes) sends the record to the full parse. A record with a backslash goes to the
//!   full parse directly.
//! * `log` / `message` strings (a line wrapped by a router): the first string of
//!   each is decoded ([`scan::decode_string`]) and the decoded text is walked the same way,
//!   once — exactly the unwrapping the full evaluation does. Decoding handles every
//!   spelling, including inner quotes written `\u0022`.
//! * None of those keys: no shape the filter evaluates → rejected.
//!
//! **Source address.** When the action is configured, the record's only event is the
//! top-level object, and its first top-level `sourceIPAddress` (seen before
//! `eventName`, or found by walking on after it; AWS writes it two members later) is
//! the address the rules look up. Its decoded text goes to [`Judge::may_be_vpn_source`]:
//! an address in no listed ASN cannot make a candidate. A missing or non-string
//! address cannot either.
//!
//! Invalid JSON may be judged either way: the full evaluation passes it through
//! unchanged, exactly as a rejection does. On valid JSON the walk reads exactly the
//! members the full evaluation reads. The property tests in
//! `tests/tests/equivalence.rs` and the `prefilter` fuzz target check the claim
//! against the full evaluation on generated spellings of firing events.

pub use crate::action::{normalise_action, normalise_bytes};
use crate::scan;
use std::borrow::Cow;

/// What the prefilter needs to know about the configuration.
pub trait Judge {
    /// Whether an action name, already passed through [`normalise_bytes`], is
    /// configured.
    fn is_action(&self, name: &[u8]) -> bool;
    /// Whether the event's decoded `sourceIPAddress` value (`None`: absent or not
    /// a string) could pass the rules' ASN condition; `false` is final.
    fn may_be_vpn_source(&self, address: Option<&[u8]>) -> bool;
}

/// A [`Judge`] from an action test alone, with every address a possible VPN source.
pub struct ActionsOnly<'f>(pub &'f dyn Fn(&[u8]) -> bool);

impl Judge for ActionsOnly<'_> {
    fn is_action(&self, name: &[u8]) -> bool {
        (self.0)(name)
    }
    fn may_be_vpn_source(&self, _address: Option<&[u8]>) -> bool {
        true
    }
}

/// Whether `record` may hold an event that the rules accept. `false` is final: the
/// record is passed through unparsed. `memo` carries recently seen `userIdentity`
/// values from record to record.
pub fn may_hold_candidate(record: &[u8], judge: &dyn Judge, memo: &mut Memo) -> bool {
    screen_object(record, judge, memo, true)
}

/// [`may_hold_candidate`] with only the action test (every address counts).
pub fn may_contain_candidate(record: &[u8], is_action: &dyn Fn(&[u8]) -> bool) -> bool {
    may_hold_candidate(record, &ActionsOnly(is_action), &mut Memo::default())
}

/// Slots of the [`Memo`], chosen by a hash of the value's first bytes.
const MEMO_SLOTS: usize = 32;
/// Longer `userIdentity` values are not remembered (bounds the memo at 128 KiB).
const MEMO_MAX: usize = 4096;

/// Recently seen `userIdentity` values, byte for byte.
///
/// The `userIdentity` object is most of what the walk has to step over before
/// `eventName`, and one identity makes many calls in a row with the same bytes. Where
/// a record's bytes at the value's start equal a remembered value, the value ends
/// where that one ended: the scanner reads a value forward from its first byte and
/// stops at its end, so equal bytes give an equal end, in valid and invalid text
/// alike. Comparing them a word at a time ([`scan::starts_with`]) costs about a fifth
/// of scanning them.
///
/// A value is copied in on its second sighting (its slot remembers the hash of the
/// last miss), so identities seen once cost no copy.
pub struct Memo {
    slots: Vec<(u64, Vec<u8>)>,
}

impl Default for Memo {
    fn default() -> Memo {
        Memo {
            slots: vec![(0, Vec::new()); MEMO_SLOTS],
        }
    }
}

impl Memo {
    /// The end of the object value at `start` in `doc`: remembered, or scanned and
    /// remembered.
    fn value_end(&mut self, doc: &[u8], start: usize) -> Option<usize> {
        let rest = doc.get(start..)?;
        let hash = scan::prefix_hash(rest);
        let (last_miss, slot) = self.slots.get_mut((hash >> 59) as usize % MEMO_SLOTS)?;
        if !slot.is_empty() && scan::starts_with(rest, slot) {
            return Some(start + slot.len());
        }
        let (end, kind) = scan::value_end(doc, start).ok()?;
        if *last_miss == hash && kind == scan::Kind::Object && end - start <= MEMO_MAX {
            slot.clear();
            slot.extend_from_slice(doc.get(start..end)?);
        }
        *last_miss = hash;
        Some(end)
    }
}

/// The top-level keys that decide the shape, noted on the way to `eventName`.
#[derive(Default)]
struct Seen {
    /// An `eventSource` key: the record is a raw event even without `eventName`.
    provider: bool,
    /// `Records`, `detail`, `detail-type`, `event` or `event.action`.
    nested: bool,
    /// Offsets of the first `sourceIPAddress`, `log` and `message` values.
    source: Option<usize>,
    log: Option<usize>,
    message: Option<usize>,
}

/// One member: which key it has (decoded first if it holds an escape) and the offset
/// of its value. `None` where the text is not a member (invalid JSON). The keys AWS
/// writes first are recognised from their bytes ([`literal_member`]); any other key
/// is read ([`read_member`]).
#[inline(always)]
fn member(doc: &[u8], pos: usize) -> Option<(Key, usize)> {
    literal_member(doc, pos).or_else(|| read_member(doc, pos))
}

/// [`member`] by reading the key: its closing quote, the key decoded if it holds an
/// escape, and its colon.
#[inline(always)]
fn read_member(doc: &[u8], pos: usize) -> Option<(Key, usize)> {
    if doc.get(pos) != Some(&b'"') {
        return None;
    }
    let (close, escaped) = scan::string_close(doc, pos)?;
    let raw = doc.get(pos + 1..close)?;
    // An escaped key is compared decoded, exactly as the full evaluation does.
    let key = if escaped {
        key_id(&scan::RawStr::new(raw).name())
    } else {
        key_id(raw)
    };
    // `"key":value` without whitespace is what nearly every writer produces.
    let mut colon = close + 1;
    if doc.get(colon) != Some(&b':') {
        colon = scan::skip_ws(doc, colon);
        if doc.get(colon) != Some(&b':') {
            return None;
        }
    }
    Some((key, scan::ws(doc, colon + 1)))
}

/// [`member`] for the keys AWS writes before `sourceIPAddress`, spelled literally
/// and followed directly by the colon (`scan::Spelled`): two or three word
/// comparisons instead of a scan for the key's closing quote and a dispatch on its
/// length. The bytes `"name":` can only be that key, unescaped, so the answer is
/// [`read_member`]'s; anything else (other keys, escapes, whitespace before the
/// colon) is `None` and goes to [`read_member`].
#[inline(always)]
fn literal_member(doc: &[u8], pos: usize) -> Option<(Key, usize)> {
    let (key, value) = scan::spelled_key!(doc, pos, Key, {
        b"eventVersion" => Key::Other,
        b"userIdentity" => Key::UserIdentity,
        b"eventTime" => Key::Other,
        b"eventSource" => Key::EventSource,
        b"eventName" => Key::EventName,
        b"awsRegion" => Key::Other,
        b"sourceIPAddress" => Key::SourceIp,
    })?;
    Some((key, scan::ws(doc, value)))
}

/// The offset of the next member's key after the value that starts at `value`, or
/// `None` at the object's end (or invalid text).
#[inline(always)]
fn next_member(doc: &[u8], value: usize) -> Option<usize> {
    let end = if doc.get(value) == Some(&b'"') {
        scan::string_close(doc, value)?.0 + 1
    } else {
        scan::value_end(doc, value).ok()?.0
    };
    after_value(doc, end)
}

/// The offset of the next member's key after a value that ends at `end`.
#[inline(always)]
fn after_value(doc: &[u8], end: usize) -> Option<usize> {
    if doc.get(end) == Some(&b',') && doc.get(end + 1) == Some(&b'"') {
        return Some(end + 1);
    }
    let pos = scan::skip_ws(doc, end);
    match doc.get(pos) {
        Some(b',') => Some(scan::skip_ws(doc, pos + 1)),
        _ => None,
    }
}

/// The decoded string value at `pos`; `None` if it is not a string (or not valid).
fn string_value(doc: &[u8], pos: usize) -> Option<Cow<'_, [u8]>> {
    if doc.get(pos) != Some(&b'"') {
        return None;
    }
    let (close, escaped) = scan::string_close(doc, pos)?;
    let raw = doc.get(pos + 1..close)?;
    if !escaped {
        return Some(Cow::Borrowed(raw));
    }
    // As the full evaluation's `decode_str`: a string that does not decode (a lone
    // surrogate, invalid UTF-8) is no value at all.
    Some(match scan::decode_string(raw).ok()? {
        Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    })
}

/// The top-level keys the walk tells apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    EventName,
    EventSource,
    SourceIp,
    UserIdentity,
    /// `Records`, `detail`, `detail-type`, `event`, `event.action`.
    Nested,
    Log,
    Message,
    Other,
}

/// Which of the keys that matter `key` (decoded) is.
#[inline(always)]
fn key_id(key: &[u8]) -> Key {
    match key.len() {
        3 if scan::is_literal(key, b"log") => Key::Log,
        5 if scan::is_literal(key, b"event") => Key::Nested,
        6 if scan::is_literal(key, b"detail") => Key::Nested,
        7 if scan::is_literal(key, b"Records") => Key::Nested,
        7 if scan::is_literal(key, b"message") => Key::Message,
        9 if scan::is_literal(key, b"eventName") => Key::EventName,
        11 if scan::is_literal(key, b"eventSource") => Key::EventSource,
        11 if scan::is_literal(key, b"detail-type") => Key::Nested,
        12 if scan::is_literal(key, b"userIdentity") => Key::UserIdentity,
        12 if scan::is_literal(key, b"event.action") => Key::Nested,
        15 if scan::is_literal(key, b"sourceIPAddress") => Key::SourceIp,
        _ => Key::Other,
    }
}

/// Walks the top-level members of the object `doc` (see the module docs);
/// `unwrap` allows one level of `log` / `message` unwrapping.
fn screen_object(doc: &[u8], judge: &dyn Judge, memo: &mut Memo, unwrap: bool) -> bool {
    let open = scan::skip_ws(doc, 0);
    if doc.get(open) != Some(&b'{') {
        return false;
    }
    let mut seen = Seen::default();
    let mut pos = scan::skip_ws(doc, open + 1);
    while doc.get(pos) == Some(&b'"') {
        let Some((key, value)) = member(doc, pos) else {
            return false;
        };
        match key {
            Key::EventName => return event_name(doc, value, &seen, judge),
            Key::EventSource => seen.provider = true,
            Key::SourceIp => {
                seen.source.get_or_insert(value);
            }
            Key::Nested => seen.nested = true,
            Key::Log => {
                seen.log.get_or_insert(value);
            }
            Key::Message => {
                seen.message.get_or_insert(value);
            }
            Key::UserIdentity if doc.get(value) == Some(&b'{') => {
                let Some(next) = memo
                    .value_end(doc, value)
                    .and_then(|end| after_value(doc, end))
                else {
                    break;
                };
                pos = next;
                continue;
            }
            Key::UserIdentity | Key::Other => {}
        }
        let Some(next) = next_member(doc, value) else {
            break;
        };
        pos = next;
    }
    if seen.provider {
        // A raw event without an action.
        return false;
    }
    if seen.nested && search_nested(doc, judge) {
        return true;
    }
    if unwrap {
        for value in [seen.log, seen.message].into_iter().flatten() {
            if let Some(inner) = string_value(doc, value) {
                if screen_object(&inner, judge, memo, false) {
                    return true;
                }
            }
        }
    }
    false
}

/// The record is a raw event whose action is the string at `value` (if any).
fn event_name(doc: &[u8], value: usize, seen: &Seen, judge: &dyn Judge) -> bool {
    let Some(name) = string_value(doc, value) else {
        return false;
    };
    if !judge.is_action(normalise_bytes(&name)) {
        return false;
    }
    if let Some(source) = seen.source {
        return source_verdict(doc, source, judge);
    }
    // The first top-level sourceIPAddress comes later: walk on to it.
    let mut at = value;
    while let Some(pos) = next_member(doc, at) {
        let Some((key, value)) = member(doc, pos) else {
            return false;
        };
        if key == Key::SourceIp {
            return source_verdict(doc, value, judge);
        }
        at = value;
    }
    judge.may_be_vpn_source(None)
}

fn source_verdict(doc: &[u8], value: usize, judge: &dyn Judge) -> bool {
    judge.may_be_vpn_source(string_value(doc, value).as_deref())
}

/// Batches, EventBridge envelopes and ECS documents: a text search for every
/// action-bearing key, sound only when no key can be spelled with escapes.
fn search_nested(doc: &[u8], judge: &dyn Judge) -> bool {
    if doc.contains(&b'\\') {
        return true;
    }
    let mut verdict = false;
    for needle in [&EVENT_NAME, &ACTION] {
        search(doc, needle, &mut |after| {
            verdict = match read_value(doc, after) {
                Read::Value(value) => judge.is_action(normalise_bytes(value)),
                Read::Unsure => true,
                Read::NotString | Read::NotKey => false,
            };
            verdict
        });
        if verdict {
            return true;
        }
    }
    false
}

/// The longest needle: shifts are 0..=10, so a Horspool step never moves further.
const MAX_SHIFT: usize = 10;

/// A Horspool shift. An enum rather than a `u8` so that the compiler knows every
/// loaded shift is at most [`MAX_SHIFT`]: that is what lets [`search`] take several
/// steps inside one bounds-checked window without a check per step.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Shift {
    S0,
    S1,
    S2,
    S3,
    S4,
    S5,
    S6,
    S7,
    S8,
    S9,
    S10,
}

const fn shift_of(n: usize) -> Shift {
    match n {
        0 => Shift::S0,
        1 => Shift::S1,
        2 => Shift::S2,
        3 => Shift::S3,
        4 => Shift::S4,
        5 => Shift::S5,
        6 => Shift::S6,
        7 => Shift::S7,
        8 => Shift::S8,
        9 => Shift::S9,
        _ => Shift::S10,
    }
}

/// The raw-text search for one key name: a Horspool shift table over byte pairs.
struct Needle {
    pattern: &'static [u8],
    /// Indexed by the little-endian pair (`last-but-one | last << 8`) of the window;
    /// 0 means the window ends like the pattern and must be compared.
    shift: [Shift; 65536],
    /// How far to move after comparing a window.
    after_compare: usize,
}

impl Needle {
    /// The shift for the window whose last pair starts at `k` in `bytes`.
    #[inline(always)]
    fn shift_at(&self, bytes: &[u8], k: usize) -> usize {
        let pair = match bytes.get(k..k + 2) {
            Some(&[a, b]) => u16::from_le_bytes([a, b]),
            _ => 0,
        };
        // A u16 index into a 65,536-entry table: the check folds away.
        self.shift.get(usize::from(pair)).map_or(1, |&s| s as usize)
    }
}

// Runs at compile time only: an out-of-range index is a build error, never a trap.
#[allow(clippy::indexing_slicing)]
const fn needle(pattern: &'static [u8]) -> Needle {
    let m = pattern.len();
    assert!(
        m >= 2 && m <= MAX_SHIFT,
        "needle length must be 2..=MAX_SHIFT"
    );
    let mut shift = [shift_of(m); 65536];
    // A pair whose second byte starts the pattern allows only m - 1.
    let mut a = 0;
    while a < 256 {
        shift[a | (pattern[0] as usize) << 8] = shift_of(m - 1);
        a += 1;
    }
    // Pairs inside the pattern: move so they line up with their rightmost place.
    let mut j = 0;
    while j + 1 < m {
        let pair = pattern[j] as usize | (pattern[j + 1] as usize) << 8;
        shift[pair] = shift_of(m - 2 - j);
        j += 1;
    }
    // After a comparison: the next place where the final pair occurs earlier.
    let last = pattern[m - 2] as usize | (pattern[m - 1] as usize) << 8;
    let mut after_compare = if pattern[m - 1] == pattern[0] {
        m - 1
    } else {
        m
    };
    let mut j = 0;
    while j + 2 < m {
        if (pattern[j] as usize | (pattern[j + 1] as usize) << 8) == last {
            after_compare = m - 2 - j;
        }
        j += 1;
    }
    Needle {
        pattern,
        shift,
        after_compare,
    }
}

static EVENT_NAME: Needle = needle(b"\"eventName");
static ACTION: Needle = needle(b"action");

/// Horspool steps taken per bounds check in [`search`].
const BLOCK: usize = 8;
/// The bytes those steps can look at: each moves at most [`MAX_SHIFT`] and reads a pair.
const WINDOW: usize = BLOCK * MAX_SHIFT + 2;

/// Calls `found(end)` for every occurrence of the needle (`end` = the offset just
/// past it) until `found` returns `true`.
///
/// `j` is the offset of the window's last byte pair (the window starts at
/// `j + 2 - m`). While [`WINDOW`] bytes remain, [`BLOCK`] steps are taken blind
/// from one bounds check: the pattern's own final pair has shift 0, so a step that
/// reaches a window worth comparing stays on it, and the block ends there. Each
/// step is then a two-byte load, a table load and an add. Inlined so that the
/// needle's table is a constant address at each call.
#[inline(always)]
fn search(text: &[u8], needle: &Needle, found: &mut dyn FnMut(usize) -> bool) {
    let m = needle.pattern.len();
    let mut j = m - 2;
    loop {
        while let Some(window) = text.get(j..).and_then(<[u8]>::first_chunk::<WINDOW>) {
            let mut k = 0;
            for _ in 0..BLOCK {
                k += needle.shift_at(window, k);
            }
            j += k;
            if needle.shift_at(window, k) == 0 {
                break;
            }
        }
        // Near the end of the text, or at a window that ends like the pattern.
        if j + 2 > text.len() {
            return;
        }
        let step = needle.shift_at(text, j);
        if step != 0 {
            j += step;
            continue;
        }
        let start = j + 2 - m;
        if text.get(start..j + 2) == Some(needle.pattern) && found(j + 2) {
            return;
        }
        j += needle.after_compare;
    }
}

/// What follows a key name in the raw text.
#[derive(Debug, PartialEq, Eq)]
enum Read<'a> {
    /// A key with a plain string value (the raw bytes, no escapes).
    Value(&'a [u8]),
    /// Cannot be judged from bytes alone (escapes): treat as a possible candidate.
    Unsure,
    /// A key whose value is not a string: no action can come from it.
    NotString,
    /// Not a key with exactly this name (a longer name, a value, garbage).
    NotKey,
}

/// Reads `"` or `\"`, whitespace, `:`, whitespace and a string value starting at
/// `pos`, just past a key name. The quoting of the key's closing quote decides the
/// mode: `\"` means the key sits in JSON text inside a string (a `log` line).
fn read_value(text: &[u8], pos: usize) -> Read<'_> {
    // The spelling CloudTrail writes, `"eventName":"Value"`, without the general path.
    if let Some(rest) = text.get(pos..).and_then(|r| r.strip_prefix(b"\":\"")) {
        for (n, &b) in rest.iter().enumerate() {
            match b {
                b'"' => return Read::Value(rest.get(..n).unwrap_or_default()),
                b'\\' => return Read::Unsure,
                _ => {}
            }
        }
        return Read::Unsure;
    }
    let escaped = match text.get(pos) {
        Some(b'"') => false,
        Some(b'\\') if text.get(pos + 1) == Some(&b'"') => true,
        _ => return Read::NotKey,
    };
    let mut p = pos + if escaped { 2 } else { 1 };
    let ws = |p: &mut usize| -> bool {
        // Returns false on a `\u` escape, which the byte reader does not decode.
        loop {
            match text.get(*p) {
                Some(b' ' | b'\t' | b'\n' | b'\r') => *p += 1,
                Some(b'\\') if escaped => match text.get(*p + 1) {
                    Some(b'n' | b't' | b'r') => *p += 2,
                    Some(b'u') => return false,
                    _ => return true,
                },
                _ => return true,
            }
        }
    };
    if !ws(&mut p) {
        return Read::Unsure;
    }
    if text.get(p) != Some(&b':') {
        return Read::NotKey;
    }
    p += 1;
    if !ws(&mut p) {
        return Read::Unsure;
    }
    let opens = if escaped {
        text.get(p..p + 2) == Some(b"\\\"")
    } else {
        text.get(p) == Some(&b'"')
    };
    if !opens {
        return Read::NotString;
    }
    let start = p + if escaped { 2 } else { 1 };
    let rest = text.get(start..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'"' || b == b'\\') {
        // Plain mode: a quote ends the value, a backslash means escapes.
        Some(n) if !escaped => match rest.get(n) {
            Some(b'"') => Read::Value(rest.get(..n).unwrap_or_default()),
            _ => Read::Unsure,
        },
        // Escaped mode: `\"` ends the value; anything else is an escape inside it
        // (or the outer string ending, which the validator would reject).
        Some(n) => match rest.get(n..n + 2) {
            Some(b"\\\"") => Read::Value(rest.get(..n).unwrap_or_default()),
            _ => Read::Unsure,
        },
        None => Read::Unsure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::visit_events;

    /// The default discovery actions (README.md, rule A), as the config holds them.
    const ACTIONS: &[&str] = &crate::config::DEFAULT_ACTIONS;

    fn is_action(name: &[u8]) -> bool {
        ACTIONS.iter().any(|a| a.as_bytes() == name)
    }

    fn passes(record: &[u8]) -> bool {
        may_contain_candidate(record, &is_action)
    }

    /// The rules' view: some event whose normalised action is configured.
    fn full_parse_accepts(record: &[u8]) -> bool {
        let mut any = false;
        let _ = visit_events(record, &mut |slot| {
            if let Some(action) = slot.event.action.as_deref() {
                any |= is_action(normalise_action(action).as_bytes());
            }
        });
        any
    }

    #[test]
    fn lambda_suffixes() {
        assert_eq!(normalise_action("ListFunctions20150331"), "ListFunctions");
        assert_eq!(normalise_action("GetFunction20150331v2"), "GetFunction");
        assert_eq!(
            normalise_action("ListFunctions20150331v12"),
            "ListFunctions"
        );
        assert_eq!(normalise_action("ListFunctions"), "ListFunctions");
        // Not a 20YYMMDD date, or no name before it, or part of a longer number.
        assert_eq!(
            normalise_action("ListFunctions19990331"),
            "ListFunctions19990331"
        );
        assert_eq!(
            normalise_action("ListFunctions20151331"),
            "ListFunctions20151331"
        );
        assert_eq!(
            normalise_action("ListFunctions20150300"),
            "ListFunctions20150300"
        );
        assert_eq!(
            normalise_action("ListFunctions2015033"),
            "ListFunctions2015033"
        );
        assert_eq!(
            normalise_action("ListFunctions120150331"),
            "ListFunctions120150331"
        );
        assert_eq!(normalise_action("20150331"), "20150331");
        assert_eq!(normalise_action("ListFunctionsv2"), "ListFunctionsv2");
        assert_eq!(
            normalise_action("ListFunctions20150331v"),
            "ListFunctions20150331v"
        );
        assert_eq!(
            normalise_action("ListFunctions20150331V2"),
            "ListFunctions20150331V2"
        );
        assert_eq!(normalise_action(""), "");
        assert_eq!(normalise_action("é20150331"), "é");
    }

    #[test]
    fn fixture_records() {
        let benign = include_bytes!("../tests/data/cloudtrail_kms_decrypt.json");
        let recon = include_bytes!("../tests/data/cloudtrail_describe_instances.json");
        assert!(!passes(benign));
        assert!(passes(recon));
    }

    #[test]
    fn every_shape_with_a_discovery_action_passes() {
        let shapes: &[&[u8]] = &[
            br#"{"eventName":"ListUsers"}"#,
            br#"{"eventName" :	"ListUsers"}"#,
            b"{\"eventName\"\r\n:\r\n\"ListUsers\"}",
            br#"{"Records":[{"eventName":"GetObject"},{"eventName":"ListBuckets"}]}"#,
            br#"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"ListRoles"}}"#,
            br#"{"log":"{\"eventName\":\"ListKeys\"}"}"#,
            br#"{"log":"{\n\t\"eventName\" :\r\n \"ListKeys\"}"}"#,
            br#"{"message":"{\"Records\":[{\"eventName\":\"ListTables\"}]}"}"#,
            br#"{"event":{"action":"GetCallerIdentity"}}"#,
            br#"{"event.action":"GetCallerIdentity"}"#,
            br#"{"event": {"action" : "GetCallerIdentity"}}"#,
            br#"{"log":"{\"event.action\":\"ListAliases\"}"}"#,
            br#"{"eventName":"ListFunctions20150331"}"#,
            br#"{"eventName":"ListFunctions20150331v2"}"#,
            // The first eventName is not an action, a later one is.
            br#"{"x":{"eventName":"GetObject"},"eventName":"ListUsers"}"#,
            // Escapes in the value or gap: undecidable from bytes, so passed.
            br#"{"eventName":"List\u0055sers"}"#,
            br#"{"log":"{\"eventName\":\u0020\"ListUsers\"}"}"#,
        ];
        for record in shapes {
            assert!(
                full_parse_accepts(record) || record.windows(2).any(|w| w == b"\\u"),
                "fixture must be a candidate: {}",
                String::from_utf8_lossy(record)
            );
            assert!(passes(record), "{}", String::from_utf8_lossy(record));
        }
    }

    #[test]
    fn common_records_are_rejected() {
        let rejected: &[&[u8]] = &[
            br#"{"eventName":"GetObject"}"#,
            br#"{"Records":[{"eventName":"GetObject"},{"eventName":"PutObject"}]}"#,
            br#"{"log":"{\"eventName\":\"AssumeRole\"}"}"#,
            br#"{"event":{"action":"ConsoleLogin"}}"#,
            br#"{"hello":"world"}"#,
            // `eventName` as a value, a longer key, a non-string value.
            br#"{"key":"eventName","eventNames":"ListUsers","eventName":42}"#,
            b"",
            b"\"eventName",
        ];
        for record in rejected {
            assert!(!passes(record), "{}", String::from_utf8_lossy(record));
        }
    }

    /// The memo's end of a value is the scanner's, record after record, whatever the
    /// bytes: repeated values, values that share a prefix with a remembered one, cut
    /// or damaged copies.
    #[test]
    fn memo_ends_values_where_the_scanner_does() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        let values = [
            r#"{"type":"AssumedRole","principalId":"AROA1:s","arn":"arn:aws:sts::1:assumed-role/r/s","sessionContext":{"sessionIssuer":{"userName":"r"}}}"#,
            r#"{"type":"IAMUser","principalId":"AIDA2","arn":"arn:aws:iam::1:user/bob","userName":"bob"}"#,
            r#"{"type":"IAMUser","principalId":"AIDA2","arn":"arn:aws:iam::1:user/bob","userName":"b\"}ob"}"#,
            r#"{"type":"Root","x":[1,{"y":"]}"}],"z":{}}"#,
        ];
        let tails = [r#","eventName":"ListUsers"}"#, r#"}"#, r#"},"a":1}"#, ""];
        let mut memo = Memo::default();
        for _ in 0..20_000 {
            let mut value = values
                .get(rand(values.len()))
                .copied()
                .unwrap_or_default()
                .as_bytes()
                .to_vec();
            match rand(4) {
                0 => {
                    let at = rand(value.len());
                    let byte = *b"\"{}[]x:,".get(rand(9)).unwrap_or(&b'x');
                    if let Some(b) = value.get_mut(at) {
                        *b = byte;
                    }
                }
                1 => value.truncate(rand(value.len())),
                _ => {}
            }
            let mut doc = br#"{"userIdentity":"#.to_vec();
            let start = doc.len();
            doc.extend_from_slice(&value);
            doc.extend_from_slice(tails.get(rand(tails.len())).unwrap_or(&"").as_bytes());
            let scanned = scan::value_end(&doc, start).ok().map(|(end, _)| end);
            assert_eq!(
                memo.value_end(&doc, start),
                scanned,
                "{}",
                String::from_utf8_lossy(&doc)
            );
        }
    }

    /// Recognising a key by its bytes answers exactly what reading the member
    /// ([`read_member`]) answers, wherever it answers at all; and it does answer for each key in the
    /// compact spelling AWS writes (with or without whitespace after the colon).
    #[test]
    fn literal_keys_read_as_their_members() {
        let names = scan::AWS_FIRST_KEYS;
        let mut docs: Vec<String> = Vec::new();
        for name in names {
            let (init, last) = name.split_at(name.len() - 1);
            let last = last.as_bytes().first().copied().unwrap_or(b'x');
            for compact in [
                format!("{{\"{name}\":\"x\",\"y\":1}}"),
                format!("{{\"{name}\": \"x\"}}"),
                format!("{{\"{name}\":\n\t{{}}}}"),
            ] {
                let found = literal_member(compact.as_bytes(), 1);
                assert!(
                    found.is_some() && found == read_member(compact.as_bytes(), 1),
                    "{compact}"
                );
                docs.push(compact);
            }
            docs.push(format!("{{\"{name}\" :\"x\"}}"));
            docs.push(format!("{{\"{name}x\":\"x\"}}"));
            docs.push(format!("{{\"{init}\":\"x\"}}"));
            docs.push(format!("{{\"{init}\\u00{last:02x}\":\"x\"}}"));
            docs.push(format!("{{\"{init}\\\"\":\"x\"}}"));
            for at in 0..name.len() + 3 {
                let mut changed = format!("{{\"{name}\":\"x\"}}").into_bytes();
                if let Some(b) = changed.get_mut(1 + at) {
                    *b ^= 0x20;
                }
                docs.push(String::from_utf8_lossy(&changed).into_owned());
            }
        }
        let mut answered = 0;
        for doc in &docs {
            for cut in 0..=doc.len() {
                let text = doc.as_bytes().get(..cut).unwrap_or_default();
                if let Some(found) = literal_member(text, 1) {
                    answered += 1;
                    assert!(
                        read_member(text, 1) == Some(found),
                        "{}",
                        String::from_utf8_lossy(text)
                    );
                }
            }
        }
        assert!(answered > names.len() * 3, "{answered}");
    }

    #[test]
    fn key_id_tells_the_keys_apart() {
        for (key, id) in [
            ("eventName", Key::EventName),
            ("eventSource", Key::EventSource),
            ("sourceIPAddress", Key::SourceIp),
            ("userIdentity", Key::UserIdentity),
            ("Records", Key::Nested),
            ("detail", Key::Nested),
            ("detail-type", Key::Nested),
            ("event", Key::Nested),
            ("event.action", Key::Nested),
            ("log", Key::Log),
            ("message", Key::Message),
        ] {
            assert!(key_id(key.as_bytes()) == id, "{key}");
            // One byte changed anywhere, or one more or fewer: another key.
            for at in 0..key.len() {
                let mut other = key.as_bytes().to_vec();
                if let Some(b) = other.get_mut(at) {
                    *b ^= 0x20;
                }
                assert!(key_id(&other) == Key::Other, "{key} {at}");
            }
            assert!(
                key_id(key.as_bytes().get(1..).unwrap_or_default()) != id,
                "{key}"
            );
            assert!(key_id(format!("{key}x").as_bytes()) != id, "{key}");
        }
        for key in ["eventname", "eventNamе", "eventVersion", "awsRegion", ""] {
            assert!(key_id(key.as_bytes()) == Key::Other, "{key}");
        }
    }

    #[test]
    fn ecs_with_an_unrelated_event_name_elsewhere_passes() {
        let record = br#"{"event":{"action":"ListUsers"},"aws":{"raw":{"eventName":"GetObject"}}}"#;
        assert!(full_parse_accepts(record));
        assert!(passes(record));
    }

    #[test]
    fn a_nested_event_name_before_the_top_level_one_does_not_decide() {
        for record in [
            br#"{"eventVersion":"1.08","userIdentity":{"eventName":"GetObject"},"eventName":"ListUsers"}"#.as_slice(),
            br#"{"userIdentity":{"eventName":"GetObject"},"eventVersion":"1.08","eventName":"ListUsers"}"#,
            br#"{"eventVersion":"1.08","x":[{"eventName":"GetObject"},"\"eventName\":\"Get\""],"eventName":"ListUsers"}"#,
        ] {
            assert!(full_parse_accepts(record));
            assert!(passes(record), "{}", String::from_utf8_lossy(record));
        }
    }

    #[test]
    fn escaped_spellings_are_the_same_record() {
        for record in [
            // An escaped key, before and instead of the plain one.
            br#"{"event\u004eame":"ListUsers"}"#.as_slice(),
            br#"{"\u0065ventName":"ListUsers","eventName":"GetObject"}"#,
            br#"{"eventName":"List\u0055sers"}"#,
            br#"{"eventName":"ListFunctions\u00320150331"}"#,
            // Inner quotes written \u0022, as .NET's encoder does.
            br#"{"log":"{\u0022eventName\u0022:\u0022ListUsers\u0022}"}"#,
            br#"{"message":"{\u0022Records\u0022:[{\u0022eventName\u0022:\u0022ListKeys\u0022}]}"}"#,
            // A doubly escaped key inside a wrapped line.
            br#"{"log":"{\"event\\u004eame\":\"ListRoles\"}"}"#,
            br#"{"Records":[{"event\u004eame":"ListBuckets"}]}"#,
            br#"{"event":{"\u0061ction":"GetCallerIdentity"}}"#,
        ] {
            assert!(
                full_parse_accepts(record),
                "the full evaluation must decode it: {}",
                String::from_utf8_lossy(record)
            );
            assert!(passes(record), "{}", String::from_utf8_lossy(record));
        }
        // Escapes that decode to another name stay rejected.
        for record in [
            br#"{"event\u004eame":"GetObject"}"#.as_slice(),
            br#"{"log":"{\u0022eventName\u0022:\u0022AssumeRole\u0022}"}"#,
        ] {
            assert!(!full_parse_accepts(record));
            assert!(!passes(record), "{}", String::from_utf8_lossy(record));
        }
    }

    #[test]
    fn the_first_top_level_event_name_decides() {
        // Whatever follows it: a later duplicate, a later nested look-alike.
        for record in [
            br#"{"eventVersion":"1.08","eventName":"GetObject","x":{"eventName":"ListUsers"}}"#
                .as_slice(),
            br#"{"eventName":"GetObject","eventName":"ListUsers"}"#,
            br#"{"eventVersion":"1.08","eventName":null,"x":{"eventName":"ListUsers"}}"#,
            br#"{"eventName":"GetObject","Records":[{"eventName":"ListUsers"}]}"#,
        ] {
            assert!(!full_parse_accepts(record));
            assert!(!passes(record), "{}", String::from_utf8_lossy(record));
        }
    }

    /// A judge that records the address it was asked about.
    struct Recording {
        asked: std::cell::RefCell<Option<Vec<u8>>>,
    }

    impl Judge for Recording {
        fn is_action(&self, name: &[u8]) -> bool {
            is_action(name)
        }
        fn may_be_vpn_source(&self, address: Option<&[u8]>) -> bool {
            *self.asked.borrow_mut() = address.map(<[u8]>::to_vec);
            false
        }
    }

    /// The address the prefilter judged a record by (`None`: it did not get that
    /// far), and its verdict.
    fn address_of(record: &[u8]) -> (Option<Vec<u8>>, bool) {
        let judge = Recording {
            asked: std::cell::RefCell::new(None),
        };
        let verdict = may_hold_candidate(record, &judge, &mut Memo::default());
        (judge.asked.into_inner(), verdict)
    }

    #[test]
    fn the_first_top_level_source_address_is_judged() {
        let head = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"a","sourceIPAddress":"9.9.9.9"},"eventTime":"t","eventSource":"iam.amazonaws.com","#;
        let with = |tail: &str| format!("{head}{tail}");
        for (record, address) in [
            (
                with(r#""eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"8.8.8.8","userAgent":"u","x":{"sourceIPAddress":"2.56.16.10"}}"#),
                "8.8.8.8",
            ),
            (
                with(r#""eventName" : "ListUsers" , "awsRegion":"r" ,"x":[1,{"sourceIPAddress":"1.1.1.1"}], "sourceIPAddress" : "AWS Internal"}"#),
                "AWS Internal",
            ),
            (
                with(r#""eventName":"ListUsers","awsRegion":"r","sourceIPAddress":"2.56.16.\u0031\u0030"}"#),
                "2.56.16.10",
            ),
            (
                with(r#""eventName":"ListUsers","source\u0049PAddress":"1.2.3.4","sourceIPAddress":"8.8.8.8"}"#),
                "1.2.3.4",
            ),
            // An address before the action: the first occurrence, as the full parse.
            (
                r#"{"sourceIPAddress":"2.56.16.10","eventName":"ListUsers","sourceIPAddress":"8.8.8.8"}"#.to_owned(),
                "2.56.16.10",
            ),
        ] {
            assert_eq!(
                address_of(record.as_bytes()),
                (Some(address.as_bytes().to_vec()), false),
                "{record}"
            );
        }
        // Not an action: rejected, address unread. No address, or not a string:
        // no candidate.
        for tail in [
            r#""eventName":"GetObject","awsRegion":"r","sourceIPAddress":"2.56.16.10"}"#,
            r#""eventName":"ListUsers","awsRegion":"r"}"#,
            r#""eventName":"ListUsers","awsRegion":"r","sourceIPAddress":null}"#,
        ] {
            let record = with(tail);
            assert_eq!(address_of(record.as_bytes()), (None, false), "{record}");
        }
    }

    /// Texts of every length around the block size, with the key at every offset:
    /// the blocked search finds it wherever it is, and never reads out of bounds.
    #[test]
    fn finds_the_key_at_every_offset_and_length() {
        for pad in 0..(2 * WINDOW + 3) {
            let mut record = br#"{"p":""#.to_vec();
            record.extend(std::iter::repeat_n(b'x', pad));
            record.extend_from_slice(br#"","eventName":"ListUsers"}"#);
            assert!(passes(&record), "{}", String::from_utf8_lossy(&record));
            let other = String::from_utf8_lossy(&record).replace("ListUsers", "GetObject");
            assert!(!passes(other.as_bytes()), "{other}");
            for cut in 0..record.len() {
                let _ = passes(record.get(..cut).unwrap_or_default());
            }
        }
    }

    /// Random records of every shape; the prefilter must never reject one that the
    /// full parse accepts, and must reject most of those without an action.
    #[test]
    fn sound_against_full_parse_on_generated_records() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let names = [
            "ListUsers",
            "GetObject",
            "ListFunctions20150331",
            "GetFunction20150331v2",
            "DescribeInstances",
            "AssumeRole",
            "ListBuckets",
            "PutObject",
            "List\\u0055sers",
            "ListKeys\\n",
            "",
            "ListFunctions20150331v",
            "LookupEvents",
            "Decrypt",
        ];
        let spaces = ["", " ", "\t", "\r\n", "  \n "];
        let (mut accepted, mut negatives, mut rejected_negatives) = (0, 0, 0);
        for _ in 0..30_000 {
            let event = |rand: &mut dyn FnMut(usize) -> usize, ecs: bool| -> String {
                let name = names.get(rand(names.len())).copied().unwrap_or_default();
                let ws = spaces.get(rand(spaces.len())).copied().unwrap_or_default();
                let decoy = match rand(5) {
                    0 => r#""note":"eventName","#.to_owned(),
                    1 => r#""eventNames":"ListUsers","#.to_owned(),
                    2 => r#""requestParameters":{"actionable":"ListRoles","x":[1,{"y":null}]},"#
                        .to_owned(),
                    3 => r#""eventName":7,"#.to_owned(),
                    _ => String::new(),
                };
                if ecs {
                    let message = if rand(2) == 0 {
                        // Elastic keeps the original line consistent with event.action.
                        format!(
                            r#","message":"{{\"eventName\":\"{}\"}}""#,
                            name.replace('\\', "\\\\").replace('"', "\\\"")
                        )
                    } else {
                        String::new()
                    };
                    match rand(2) {
                        0 => format!(
                            r#"{{"@timestamp":"t",{decoy}"event":{{"kind":"event","action"{ws}:{ws}"{name}"}}{message}}}"#
                        ),
                        _ => format!(
                            r#"{{{decoy}"event.action"{ws}:{ws}"{name}","cloud.region":"r"{message}}}"#
                        ),
                    }
                } else if rand(2) == 0 {
                    format!(
                        r#"{{{decoy}"eventVersion":"1.08","eventName"{ws}:{ws}"{name}","eventSource":"s"}}"#
                    )
                } else {
                    // As AWS writes it (the early stop): a nested identity before the
                    // key that holds no eventName key, decoys after it.
                    let identity = match rand(3) {
                        0 => r#"{"type":"IAMUser","userName":"eventName"}"#,
                        1 => r#"{"eventNames":"ListUsers","sessionContext":{"x":{"y":[1]}}}"#,
                        _ => r#"{"arn":"a\"eventName\":\"ListUsers"}"#,
                    };
                    let other = names.get(rand(names.len())).copied().unwrap_or_default();
                    format!(
                        r#"{{"eventVersion":"1.08","userIdentity":{identity},"eventSource":"s","eventName"{ws}:{ws}"{name}",{decoy}"x":{{"eventName":"{other}"}}}}"#
                    )
                }
            };
            let ecs = rand(4) == 0;
            let inner = match rand(3) {
                0 if !ecs => {
                    let n = rand(4);
                    let events: Vec<String> = (0..n).map(|_| event(&mut rand, false)).collect();
                    format!(r#"{{"Records":[{}]}}"#, events.join(","))
                }
                1 if !ecs => format!(
                    r#"{{"detail-type":"AWS API Call via CloudTrail","detail":{}}}"#,
                    event(&mut rand, false)
                ),
                _ => event(&mut rand, ecs),
            };
            let record = match rand(3) {
                0 => {
                    // Wrapped: JSON-escape the inner text; whitespace may become \n.
                    let escaped = inner
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n")
                        .replace('\r', "\\r")
                        .replace('\t', "\\t");
                    let key = if rand(2) == 0 { "log" } else { "message" };
                    format!(r#"{{"time":"x","{key}":"{escaped}"}}"#)
                }
                _ => inner,
            };
            let bytes = record.as_bytes();
            let full = full_parse_accepts(bytes);
            let quick = passes(bytes);
            assert!(!full || quick, "unsound: {record}");
            accepted += usize::from(full);
            if !full && !record.contains("\\\\u") && !record.contains("\\u") {
                negatives += 1;
                rejected_negatives += usize::from(!quick);
            }
        }
        assert!(
            accepted > 5_000,
            "generator too weak: {accepted} candidates"
        );
        // Records with decoys may pass, but most negatives must be rejected.
        assert!(
            rejected_negatives * 10 > negatives * 7,
            "{rejected_negatives}/{negatives}"
        );
    }
}
