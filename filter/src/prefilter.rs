//! Cheap rejection of the common record before any parse.
//!
//! Nearly every record is not a discovery call, and inside Fluent Bit's WAMR
//! interpreter each wasm instruction costs 1–2 ns, so a record must be turned away
//! after looking at a fraction of its bytes. [`may_contain_candidate`] searches the
//! raw text for the key `eventName` with a Horspool search over byte pairs: the
//! pattern is 10 bytes (`"eventName`), so most steps skip 9–10 bytes, and eight
//! steps share one bounds check. For each occurrence it reads the string value that
//! follows, removes a Lambda API-version suffix and asks the caller whether that is
//! a configured action.
//!
//! **Early stop for events as AWS writes them.** CloudTrail writes every event with
//! its keys in one fixed order, `eventVersion`, `userIdentity`, `eventTime`,
//! `eventSource`, `eventName`, … (S3 delivery files, CloudWatch Logs and the
//! EventBridge `detail` alike), and routers keep key order. So when a record starts
//! with exactly `{"eventVersion":`, it is such an event, and the only values before
//! its `eventName` are `eventVersion`, `eventTime`, `eventSource` (strings) and
//! `userIdentity`, an object whose schema (`type`, `principalId`, `arn`,
//! `accountId`, `accessKeyId`, `userName`, `sessionContext`, `invokedBy`, …) has no
//! `eventName` key at any depth. The first unescaped `"eventName"` followed by `:`
//! is therefore a key (in valid JSON an unescaped quote followed by a name and `:`
//! can only open a key), it is at the top level, and, being the first, it is the
//! occurrence the full parse takes ([`crate::record`]: first occurrence wins). Its
//! value decides the record, and the search stops there instead of reading the rest
//! of the record (about half of a typical event). Escaped occurrences (`\"eventName\"`
//! inside some string) do not stop the search. Invalid JSON does not matter: the
//! full parse passes it through whatever the prefilter says. Every other record —
//! `Records` batches, EventBridge envelopes, `log`/`message` lines, ECS documents,
//! events with keys in another order — gets the full search below.
//!
//! **Source address of such an event.** When that early stop finds a configured
//! action, [`screen`] also reads the event's source address. AWS writes
//! `…,"eventName":"X","awsRegion":"R","sourceIPAddress":"S",…`: the two members after
//! `eventName` are plain strings. If the bytes after the `eventName` value (a plain
//! string, so its first quote ends it) are exactly `,"awsRegion":"`, a string body
//! without `"` or `\`, `","sourceIPAddress":"`, then these are the next two members
//! of the object that holds `eventName` — the top-level object, by the argument
//! above — and `S` (again a body without quote or backslash) is the top-level
//! `sourceIPAddress` value. It is the first top-level occurrence, the one the full
//! parse takes, because before `eventName` AWS writes only `eventVersion`,
//! `userIdentity`, `eventTime` and `eventSource`. With no escapes the full parse
//! decodes `S` to the same bytes, so the rules see exactly this address; the caller
//! rejects the record unless the address lies in a configured VPN ASN (the record
//! holds one event, so no other event could be a candidate). Any other spelling —
//! whitespace between those members, an escape in `R` or `S`, another key in between,
//! another order — returns [`Screen::Parse`] and the full parse decides.
//!
//! The answer must be *sound*: `false` only when rule evaluation could not accept
//! the record, whatever its shape. How each shape of [`crate::record`] is covered:
//!
//! * raw event, `Records` batch, EventBridge `detail`: the key appears as
//!   `"eventName"` followed by optional whitespace, `:` and a string.
//! * `log` / `message` text: the inner key appears escaped, `\"eventName\"`; the
//!   pattern starts at the quote, so it matches both spellings, and the gap and value
//!   are read in the matching mode (`\n`, `\t`, `\r` escapes count as whitespace).
//! * ECS: only when the text has no `eventName` key at all, a second search for keys
//!   ending in `action` (`"event.action"`, nested `"action"`, escaped or not).
//! * Anything the byte reader cannot judge exactly (a value with escapes, a `\u`
//!   escape in the gap) counts as a possible candidate.
//!
//! Keys are matched by their raw bytes here and in [`crate::record`] alike, so a key
//! spelled with needless escapes is invisible to both.
//!
//! Documented gaps (records AWS and Elastic do not produce):
//!
//! * A record that starts with `{"eventVersion":` but is not an event as AWS writes
//!   it: one whose top-level `eventName` comes after another `eventName` key nested
//!   in an earlier value, or one without a top-level `eventName`/`eventSource` that
//!   carries events further in (a `Records` array placed after an `eventVersion`
//!   key). The early stop judges such a record by its first nested `eventName`.
//!
//! * A record that starts with `{"eventVersion":` and has a top-level
//!   `sourceIPAddress` key before its `eventName` as well as one in the place AWS
//!   writes it (a duplicate key): the early stop judges it by the later address.
//!
//! * An ECS document whose `event.action` is a configured action but which also
//!   carries some `eventName` key with another value (not at its top level, where it
//!   would make the record a raw event) is rejected, because the ECS search runs
//!   only without any `eventName` key. Elastic derives `event.action` from
//!   `eventName`, so in its documents (including a preserved `event.original`) the
//!   two never disagree; searching for `action` in every record would double the
//!   cost of the common record.

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

/// How every CloudTrail event that AWS writes begins (see the module docs).
const CANONICAL_START: &[u8] = b"{\"eventVersion\":";

/// What the prefilter says about a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen<'a> {
    /// No event in it can be a candidate: pass it through unparsed.
    Reject,
    /// It may hold a candidate: parse it in full.
    Parse,
    /// An event as AWS writes it whose action is configured, and the raw bytes of its
    /// top-level `sourceIPAddress` value (a plain string, no escapes): unless that
    /// address is in a VPN ASN, no event in the record can be a candidate.
    CanonicalSource(&'a [u8]),
}

/// Whether `record` may hold an event that the rules accept. `is_action` receives a
/// raw `eventName` / `event.action` value after [`normalise_action`] and says whether
/// it is a configured action. `false` is final: the record is passed through.
pub fn may_contain_candidate(record: &[u8], is_action: &dyn Fn(&[u8]) -> bool) -> bool {
    screen(record, is_action) != Screen::Reject
}

/// [`may_contain_candidate`], and for an event as AWS writes it with a configured
/// action, its source address (see the module docs).
pub fn screen<'a>(record: &'a [u8], is_action: &dyn Fn(&[u8]) -> bool) -> Screen<'a> {
    // See the module docs: in a record that starts as AWS writes an event, the first
    // unescaped `eventName` key is the event's own.
    let canonical = record.starts_with(CANONICAL_START);
    let mut saw_key = false;
    let mut verdict = false;
    let mut source = None;
    search(record, &EVENT_NAME, &mut |after| {
        let unescaped = record.get(after) == Some(&b'"');
        match read_value(record, after) {
            Read::Value(value) => {
                saw_key = true;
                verdict = is_action(normalise_bytes(value));
                if verdict && canonical && unescaped {
                    source = canonical_source_ip(record, value);
                }
                verdict || (canonical && unescaped)
            }
            Read::Unsure => {
                verdict = true;
                true
            }
            Read::NotString => {
                saw_key = true;
                canonical && unescaped
            }
            Read::NotKey => false,
        }
    });
    if let Some(ip) = source {
        return Screen::CanonicalSource(ip);
    }
    if verdict || saw_key {
        return verdict_of(verdict);
    }
    search(
        record,
        &ACTION,
        &mut |after| match read_value(record, after) {
            Read::Value(value) => {
                verdict = is_action(normalise_bytes(value));
                verdict
            }
            Read::Unsure => {
                verdict = true;
                true
            }
            Read::NotString | Read::NotKey => false,
        },
    );
    verdict_of(verdict)
}

fn verdict_of(may_hold: bool) -> Screen<'static> {
    if may_hold {
        Screen::Parse
    } else {
        Screen::Reject
    }
}

/// The members that follow `eventName` in an event as AWS writes it, up to the
/// opening quote of the `sourceIPAddress` value.
const AFTER_EVENT_NAME: &[u8] = b",\"awsRegion\":\"";
const BEFORE_SOURCE_IP: &[u8] = b",\"sourceIPAddress\":\"";

/// The raw `sourceIPAddress` value when the top-level `eventName` value
/// `event_name` (a sub-slice of `record`) is followed, exactly as AWS writes it, by
/// `,"awsRegion":"…","sourceIPAddress":"…"` with two plain strings (see the module
/// docs); `None` for any other spelling.
fn canonical_source_ip<'a>(record: &'a [u8], event_name: &[u8]) -> Option<&'a [u8]> {
    let start = (event_name.as_ptr() as usize).checked_sub(record.as_ptr() as usize)?;
    // Past the value and its closing quote.
    let rest = record.get(start + event_name.len() + 1..)?;
    let rest = rest.strip_prefix(AFTER_EVENT_NAME)?;
    let (_region, rest) = plain_string(rest)?;
    let rest = rest.strip_prefix(BEFORE_SOURCE_IP)?;
    let (ip, _) = plain_string(rest)?;
    Some(ip)
}

/// Splits a string body with no escapes off `text` at its closing quote, and
/// returns the body and what follows the quote; `None` at a backslash or the end.
fn plain_string(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = text.iter().position(|&b| b == b'"' || b == b'\\')?;
    match text.get(n) {
        Some(b'"') => Some((text.get(..n)?, text.get(n + 1..)?)),
        _ => None,
    }
}

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

/// Removes a trailing Lambda API-version suffix: `20YYMMDD` (a plausible date),
/// optionally followed by `v` and digits, after a non-digit:
/// `ListFunctions20150331` → `ListFunctions`, `GetFunction20150331v2` →
/// `GetFunction`. Any other name is returned unchanged.
pub fn normalise_action(name: &str) -> &str {
    let keep = normalise_bytes(name.as_bytes()).len();
    name.get(..keep).unwrap_or(name)
}

/// [`normalise_action`] on bytes.
pub fn normalise_bytes(name: &[u8]) -> &[u8] {
    let digits_before = |end: usize| {
        let mut p = end;
        while p > 0 && name.get(p - 1).is_some_and(u8::is_ascii_digit) {
            p -= 1;
        }
        p
    };
    // Optional `vN`.
    let mut end = name.len();
    let p = digits_before(end);
    if p < end && p > 0 && name.get(p - 1) == Some(&b'v') {
        end = p - 1;
    }
    // Exactly eight digits `20YYMMDD` before `end`, preceded by a non-digit.
    let Some(start) = end.checked_sub(8) else {
        return name;
    };
    if start == 0 || digits_before(end) != start {
        return name;
    }
    let Some(date) = name.get(start..end) else {
        return name;
    };
    let two = |i: usize| {
        let hi = date.get(i).map_or(0, |d| d - b'0');
        let lo = date.get(i + 1).map_or(0, |d| d - b'0');
        hi * 10 + lo
    };
    let (century, month, day) = (two(0), two(4), two(6));
    if century == 20 && (1..=12).contains(&month) && (1..=31).contains(&day) {
        name.get(..start).unwrap_or(name)
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::visit_events;

    /// The default discovery actions (contract section 3), as the config holds them.
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

    #[test]
    fn documented_gap_ecs_with_conflicting_event_name() {
        // See the module docs: the ECS search runs only without any eventName key.
        let record = br#"{"event":{"action":"ListUsers"},"aws":{"raw":{"eventName":"GetObject"}}}"#;
        assert!(full_parse_accepts(record));
        assert!(!passes(record));
    }

    #[test]
    fn documented_gap_canonical_record_with_nested_event_name_first() {
        // See the module docs: AWS never nests an eventName key before its own.
        let record = br#"{"eventVersion":"1.08","userIdentity":{"eventName":"GetObject"},"eventName":"ListUsers"}"#;
        assert!(full_parse_accepts(record));
        assert!(!passes(record));
        // The same record in any other key order gets the full search.
        let reordered = br#"{"userIdentity":{"eventName":"GetObject"},"eventVersion":"1.08","eventName":"ListUsers"}"#;
        assert!(passes(reordered));
    }

    #[test]
    fn canonical_records_stop_at_their_own_event_name() {
        // The first unescaped key decides, whatever follows it.
        let later_decoy =
            br#"{"eventVersion":"1.08","eventName":"GetObject","x":{"eventName":"ListUsers"}}"#;
        assert!(!full_parse_accepts(later_decoy));
        assert!(!passes(later_decoy));
        let not_a_string =
            br#"{"eventVersion":"1.08","eventName":null,"x":{"eventName":"ListUsers"}}"#;
        assert!(!passes(not_a_string));
        // An escaped occurrence inside a string value does not stop the search.
        let escaped_first = br#"{"eventVersion":"1.08","userIdentity":{"arn":"\"eventName\":\"Get\""},"eventName":"ListUsers"}"#;
        assert!(full_parse_accepts(escaped_first));
        assert!(passes(escaped_first));
        // Nor does `eventName` as a value or inside a longer key.
        let near_misses = br#"{"eventVersion":"1.08","userIdentity":{"userName":"eventName","eventNames":"x"},"eventName":"ListRoles"}"#;
        assert!(passes(near_misses));
    }

    #[test]
    fn canonical_events_hand_over_their_source_address() {
        fn screened(record: &[u8]) -> Screen<'_> {
            screen(record, &is_action)
        }
        let head = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"a"},"eventTime":"t","eventSource":"iam.amazonaws.com","#;
        let with = |tail: &str| format!("{head}{tail}");
        let record = with(
            r#""eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"8.8.8.8","userAgent":"u","x":{"sourceIPAddress":"2.56.16.10"}}"#,
        );
        assert_eq!(
            screened(record.as_bytes()),
            Screen::CanonicalSource(b"8.8.8.8")
        );
        let record =
            with(r#""eventName":"ListUsers","awsRegion":"r","sourceIPAddress":"AWS Internal"}"#);
        assert_eq!(
            screened(record.as_bytes()),
            Screen::CanonicalSource(b"AWS Internal")
        );
        let record = with(r#""eventName":"ListUsers","awsRegion":"r","sourceIPAddress":"","x":1}"#);
        assert_eq!(screened(record.as_bytes()), Screen::CanonicalSource(b""));
        // Whitespace inside the eventName member does not matter: the key is found
        // by the early stop as before, and its value ends at its own quote.
        let record =
            with(r#""eventName" : "ListUsers","awsRegion":"r","sourceIPAddress":"8.8.8.8"}"#);
        assert_eq!(
            screened(record.as_bytes()),
            Screen::CanonicalSource(b"8.8.8.8")
        );
        // Not an action: rejected as before, address unread.
        let record =
            with(r#""eventName":"GetObject","awsRegion":"r","sourceIPAddress":"2.56.16.10"}"#);
        assert_eq!(screened(record.as_bytes()), Screen::Reject);
        // Every other spelling goes to the full parse.
        for tail in [
            r#""eventName":"ListUsers","awsRegion":"r","sourceIPAddress":"2.56.16.\u0031\u0030"}"#,
            r#""eventName":"ListUsers","awsRegion":"\u0072","sourceIPAddress":"8.8.8.8"}"#,
            r#""eventName":"ListUsers", "awsRegion":"r","sourceIPAddress":"8.8.8.8"}"#,
            r#""eventName":"ListUsers","awsRegion":"r", "sourceIPAddress":"8.8.8.8"}"#,
            r#""eventName":"ListUsers","sourceIPAddress":"8.8.8.8","awsRegion":"r"}"#,
            r#""eventName":"ListUsers","awsRegion":"r","x":1,"sourceIPAddress":"8.8.8.8"}"#,
            r#""eventName":"ListUsers","awsRegion":"r","sourceIPAddress":null}"#,
            r#""eventName":"ListUsers","awsRegion":"r","sourceIPAddress":"8.8.8.8"#,
            r#""eventName":"ListUsers","awsRegion":"r"#,
            r#""eventName":"ListUsers""#,
        ] {
            let record = with(tail);
            assert_eq!(screened(record.as_bytes()), Screen::Parse, "{record}");
        }
        // Not in canonical order, or another shape: the full parse.
        for record in [
            br#"{"eventName":"ListUsers","awsRegion":"r","sourceIPAddress":"8.8.8.8"}"#.as_slice(),
            br#"{"Records":[{"eventVersion":"1.08","eventName":"ListUsers","awsRegion":"r","sourceIPAddress":"8.8.8.8"}]}"#,
            br#"{"log":"{\"eventVersion\":\"1.08\",\"eventName\":\"ListUsers\",\"awsRegion\":\"r\",\"sourceIPAddress\":\"8.8.8.8\"}"}"#,
        ] {
            assert_eq!(
                screened(record),
                Screen::Parse,
                "{}",
                String::from_utf8_lossy(record)
            );
        }
    }

    #[test]
    fn documented_gap_canonical_record_with_an_earlier_source_address() {
        // See the module docs: AWS writes no sourceIPAddress key before eventName.
        let record = br#"{"eventVersion":"1.08","sourceIPAddress":"2.56.16.10","eventName":"ListUsers","awsRegion":"r","sourceIPAddress":"8.8.8.8"}"#;
        assert_eq!(
            screen(record, &is_action),
            Screen::CanonicalSource(b"8.8.8.8")
        );
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
