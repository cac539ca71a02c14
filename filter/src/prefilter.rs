//! Cheap rejection of the common record before any parse.
//!
//! Nearly every record is not a discovery call, and inside Fluent Bit's WAMR
//! interpreter each wasm instruction costs 1–2 ns, so a record must be turned away
//! after looking at a fraction of its bytes. [`may_contain_candidate`] searches the
//! raw text for the key `eventName` with a Horspool search over byte pairs: the
//! pattern is 10 bytes (`"eventName`), so most steps skip 9–10 bytes and a 1.2 KB
//! record costs about 130 steps. For each occurrence it reads the string value that
//! follows, removes a Lambda API-version suffix and asks the caller whether that is
//! a configured action.
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
//! One documented gap: an ECS document whose `event.action` is a configured action
//! but which also carries some `eventName` key with another value (not at its top
//! level, where it would make the record a raw event) is rejected, because the ECS
//! search runs only without any `eventName` key. Elastic derives `event.action` from
//! `eventName`, so in its documents (including a preserved `event.original`) the two
//! never disagree; searching for `action` in every record would double the cost of
//! the common record.

/// The raw-text search for one key name: a Horspool shift table over byte pairs.
struct Needle {
    pattern: &'static [u8],
    /// Indexed by the little-endian pair (`last-but-one | last << 8`) of the window;
    /// 0 means the window ends like the pattern and must be compared.
    shift: [u8; 65536],
    /// How far to move after comparing a window.
    after_compare: usize,
}

// Runs at compile time only: an out-of-range index is a build error, never a trap.
#[allow(clippy::indexing_slicing)]
const fn needle(pattern: &'static [u8]) -> Needle {
    let m = pattern.len();
    let mut shift = [m as u8; 65536];
    // A pair whose second byte starts the pattern allows only m - 1.
    let mut a = 0;
    while a < 256 {
        shift[a | (pattern[0] as usize) << 8] = (m - 1) as u8;
        a += 1;
    }
    // Pairs inside the pattern: move so they line up with their rightmost place.
    let mut j = 0;
    while j + 1 < m {
        let pair = pattern[j] as usize | (pattern[j + 1] as usize) << 8;
        shift[pair] = (m - 2 - j) as u8;
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

/// Whether `record` may hold an event that the rules accept. `is_action` receives a
/// raw `eventName` / `event.action` value after [`normalise_action`] and says whether
/// it is a configured action. `false` is final: the record is passed through.
pub fn may_contain_candidate(record: &[u8], is_action: &dyn Fn(&[u8]) -> bool) -> bool {
    let mut saw_key = false;
    let mut verdict = false;
    search(
        record,
        &EVENT_NAME,
        &mut |after| match read_value(record, after) {
            Read::Value(value) => {
                saw_key = true;
                verdict = is_action(normalise_bytes(value));
                verdict
            }
            Read::Unsure => {
                verdict = true;
                true
            }
            Read::NotString => {
                saw_key = true;
                false
            }
            Read::NotKey => false,
        },
    );
    if verdict || saw_key {
        return verdict;
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
    verdict
}

/// Calls `found(end)` for every occurrence of the needle (`end` = the offset just
/// past it) until `found` returns `true`.
fn search(text: &[u8], needle: &Needle, found: &mut dyn FnMut(usize) -> bool) {
    let m = needle.pattern.len();
    let Some(last) = text.len().checked_sub(m) else {
        return;
    };
    let mut i = 0;
    while i <= last {
        let pair = match text.get(i + m - 2..i + m) {
            Some(&[a, b]) => usize::from(a) | usize::from(b) << 8,
            _ => return,
        };
        let step = needle.shift.get(pair).copied().unwrap_or(1);
        if step != 0 {
            i += usize::from(step);
            continue;
        }
        if text.get(i..i + m) == Some(needle.pattern) && found(i + m) {
            return;
        }
        i += needle.after_compare;
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
