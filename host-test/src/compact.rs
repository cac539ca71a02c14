//! Byte-level JSON handling for input records: compaction and top-level splitting,
//! iterative (no recursion on nesting depth, no depth limit) and without building a
//! tree, so replay stays close to the speed of reading the input.

use std::ops::{ControlFlow, Range};

/// Appends `src` to `dst` without the whitespace outside strings: the compact form
/// Fluent Bit's msgpack-to-JSON step produces. String contents are copied as written.
pub fn compact_into(src: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    let mut run_start = 0;
    while i < src.len() {
        match src[i] {
            b'"' => match string_end(src, i) {
                Some(end) => i = end,
                None => break, // unterminated string: copy the rest as it is
            },
            b' ' | b'\t' | b'\n' | b'\r' => {
                dst.extend_from_slice(&src[run_start..i]);
                i += 1;
                run_start = i;
            }
            _ => i += 1,
        }
    }
    dst.extend_from_slice(&src[run_start..]);
}

/// The end (exclusive) of the compact JSON value starting at `start`, or `None` if
/// the text ends first or is not shaped like JSON there.
pub fn value_end(doc: &[u8], start: usize) -> Option<usize> {
    value_end_in::<false>(doc, start)
}

/// [`value_end`]; with `STRICT`, also `None` at any whitespace outside strings, so
/// that a `Some` proves the value was already compact.
fn value_end_in<const STRICT: bool>(doc: &[u8], start: usize) -> Option<usize> {
    let first = *doc.get(start)?;
    match first {
        b'"' => string_end(doc, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < doc.len() {
                match doc[i] {
                    b'"' => {
                        i = string_end(doc, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    b' ' | b'\t' | b'\n' | b'\r' if STRICT => return None,
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            // Number, true, false, null: up to the next delimiter.
            let len = doc[start..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b'{' | b'[' | b'"' | b':'))
                .unwrap_or(doc.len() - start);
            let token = &doc[start..start + len];
            let scalar = matches!(token, b"true" | b"false" | b"null")
                || (!token.is_empty()
                    && token
                        .iter()
                        .all(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')));
            scalar.then_some(start + len)
        }
    }
}

/// The end (exclusive) of the string whose opening quote is at `start`. String
/// contents are most of a CloudTrail record, so they are skipped with `memchr`.
fn string_end(doc: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        let found = i + memchr::memchr2(b'"', b'\\', doc.get(i..)?)?;
        if doc[found] == b'"' {
            return Some(found + 1);
        }
        i = found + 2;
    }
}

/// One member of a top-level object: the key with its quotes, and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub key: Range<usize>,
    pub value: Range<usize>,
}

/// The members of the compact object `doc`, or `None` if it is not one well-shaped
/// object spanning all of `doc`.
pub fn object_members(doc: &[u8]) -> Option<Vec<Member>> {
    object_members_in::<false>(doc)
}

/// [`object_members`] of text that is already compact: `None` also when `doc` holds
/// whitespace outside strings (compact it first then). A `Some` equals
/// `object_members` of the compacted text, which is `doc` itself.
pub fn compact_object_members(doc: &[u8]) -> Option<Vec<Member>> {
    object_members_in::<true>(doc)
}

fn object_members_in<const STRICT: bool>(doc: &[u8]) -> Option<Vec<Member>> {
    let mut members = Vec::new();
    let end = walk_members::<STRICT>(doc, 0, &mut |key, value| {
        members.push(Member { key, value });
        ControlFlow::Continue(())
    })?;
    (end == doc.len()).then_some(members)
}

/// Walks the members (`"key":value`, separated by commas) of the compact object at
/// `start` and gives each key (with its quotes) and value range to `visit`, in order,
/// until it says stop. The end (just past the `}`) when every member was walked;
/// `None` when `visit` stopped the walk or the text is not shaped so.
fn walk_members<const STRICT: bool>(
    doc: &[u8],
    start: usize,
    visit: &mut dyn FnMut(Range<usize>, Range<usize>) -> ControlFlow<()>,
) -> Option<usize> {
    if doc.get(start) != Some(&b'{') {
        return None;
    }
    let mut i = start + 1;
    if doc.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        if doc.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(doc, i)?;
        if doc.get(key_end) != Some(&b':') {
            return None;
        }
        let value_start = key_end + 1;
        let value_stop = value_end_in::<STRICT>(doc, value_start)?;
        if visit(i..key_end, value_start..value_stop).is_break() {
            return None;
        }
        match doc.get(value_stop) {
            Some(b',') => i = value_stop + 1,
            Some(b'}') => return Some(value_stop + 1),
            _ => return None,
        }
    }
}

/// The elements of the compact array `doc`, or `None` if it is not well shaped.
pub fn array_elements(doc: &[u8]) -> Option<Vec<Range<usize>>> {
    array_elements_in::<false>(doc)
}

/// [`array_elements`] of text that is already compact: `None` also when `doc` holds
/// whitespace outside strings. A `Some` equals `array_elements` of the compacted
/// text, which is `doc` itself. The reference for [`compact_events`], which the
/// input side uses.
#[cfg(test)]
fn compact_array_elements(doc: &[u8]) -> Option<Vec<Range<usize>>> {
    array_elements_in::<true>(doc)
}

fn array_elements_in<const STRICT: bool>(doc: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut elements = Vec::new();
    walk_elements(doc, &mut |start| {
        let end = value_end_in::<STRICT>(doc, start)?;
        elements.push(start..end);
        Some(end)
    })?;
    Some(elements)
}

/// Walks the elements of the compact array `doc`: `element(start)` reads the element
/// at `start` and gives its end. `None` if that fails or `doc` is not one
/// well-shaped array spanning all of it.
fn walk_elements(doc: &[u8], element: &mut dyn FnMut(usize) -> Option<usize>) -> Option<()> {
    if doc.first() != Some(&b'[') {
        return None;
    }
    let mut i = 1;
    if doc.get(i) == Some(&b']') {
        return (doc.len() == 2).then_some(());
    }
    loop {
        let end = element(i)?;
        match doc.get(end) {
            Some(b',') => i = end + 1,
            Some(b']') if end + 1 == doc.len() => return Some(()),
            _ => return None,
        }
    }
}

/// One event of an already compact `Records` array: its range in the array and the
/// range of its first top-level `eventTime` value.
pub type CompactEvent = (Range<usize>, Option<Range<usize>>);

/// The elements of an already compact array (`None` also at whitespace outside
/// strings: compact it first then) together with each element's `eventTime` value,
/// in one pass, so an S3 delivery file, written compact by CloudTrail, is split
/// where it lies: an element that is a well-shaped object is walked member by member,
/// which gives its end (where the bracket count would end it) and its first
/// `eventTime` (what [`find_member`] would find) at once. Any other element is ended
/// by [`value_end`] and searched with [`find_member`], as before. The elements and
/// times equal those of [`array_elements`] and [`find_member`] on the compacted text
/// (tested).
pub fn compact_events(doc: &[u8]) -> Option<Vec<CompactEvent>> {
    let mut events = Vec::new();
    walk_elements(doc, &mut |start| {
        let (end, time) = match object_walk(doc, start) {
            Some(walked) => walked,
            None => {
                let end = value_end_in::<true>(doc, start)?;
                let time = find_member_range(doc.get(start..end)?, b"\"eventTime\"")
                    .map(|value| start + value.start..start + value.end);
                (end, time)
            }
        };
        events.push((start..end, time));
        Some(end)
    })?;
    Some(events)
}

/// The end of the compact object at `start` and the range of its first
/// `eventTime` value, when every member is `"key":value` with a compact value;
/// `None` otherwise (the caller then takes the general way).
fn object_walk(doc: &[u8], start: usize) -> Option<(usize, Option<Range<usize>>)> {
    let mut time = None;
    let end = walk_members::<true>(doc, start, &mut |key, value| {
        if time.is_none() && doc.get(key) == Some(&b"\"eventTime\""[..]) {
            time = Some(value);
        }
        ControlFlow::Continue(())
    })?;
    Some((end, time))
}

/// Splits a compact stream of concatenated documents into the documents.
pub fn documents(stream: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < stream.len() {
        match value_end(stream, i) {
            Some(end) => {
                out.push(i..end);
                i = end;
            }
            None => {
                out.push(i..stream.len());
                break;
            }
        }
    }
    out
}

/// The value of the top-level member named `key` (given with its quotes).
pub fn member<'a>(doc: &'a [u8], members: &[Member], key: &[u8]) -> Option<&'a [u8]> {
    members
        .iter()
        .find(|m| doc.get(m.key.clone()) == Some(key))
        .and_then(|m| doc.get(m.value.clone()))
}

/// The value of the member `key` (given with its quotes) of the compact object `doc`,
/// scanning members only until it is found.
pub fn find_member<'a>(doc: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    doc.get(find_member_range(doc, key)?)
}

/// [`find_member`] as a range of `doc`.
fn find_member_range(doc: &[u8], key: &[u8]) -> Option<Range<usize>> {
    let mut found = None;
    walk_members::<false>(doc, 0, &mut |name, value| {
        if doc.get(name) == Some(key) {
            found = Some(value);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closing quote found one byte at a time, escapes skipped.
    fn naive_string_end(doc: &[u8], start: usize) -> Option<usize> {
        let mut i = start + 1;
        while i < doc.len() {
            match doc[i] {
                b'"' => return Some(i + 1),
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        None
    }

    /// The `memchr2` search against a byte loop: strings of every length up to 100,
    /// an escaped quote or an early quote at every place, and unterminated ones
    /// (one ending in a backslash).
    #[test]
    fn string_end_agrees_with_a_byte_loop() {
        for len in 0..100 {
            let body: Vec<u8> = (0..len).map(|k| b'a' + (k % 26) as u8).collect();
            let mut docs = vec![
                [&b"\""[..], &body, b"\""].concat(),
                [&b"\""[..], &body].concat(),
            ];
            for at in 0..len {
                let mut escaped = body.clone();
                escaped.insert(at, b'\\');
                escaped.insert(at + 1, b'"');
                docs.push([&b"\""[..], &escaped, b"\",1"].concat());
                let mut early = body.clone();
                early[at] = b'"';
                docs.push([&b"\""[..], &early].concat());
                let mut backslash_last = body.clone();
                backslash_last.push(b'\\');
                docs.push([&b"\""[..], &backslash_last[at..]].concat());
            }
            for doc in docs {
                assert_eq!(
                    string_end(&doc, 0),
                    naive_string_end(&doc, 0),
                    "{}",
                    String::from_utf8_lossy(&doc)
                );
            }
        }
    }

    /// The one-pass split with `eventTime` against splitting first and then asking
    /// `find_member` of each element: same elements, same times, `None` for the same
    /// arrays. Arrays of events, of other values, and copies with whitespace
    /// inserted or a byte deleted or changed at every place.
    #[test]
    fn compact_events_agree_with_split_then_find() {
        let seeds: [&[u8]; 4] = [
            br#"[{"eventVersion":"1.08","userIdentity":{"a":[1,{"b":"}"}]},"eventTime":"2026-06-20T08:00:00Z","x":-1.5e3},{"eventTime":7,"eventTime":"t"},{},{"k":"v","eventTime":"u"}]"#,
            br#"[1,"two",[3],{"eventTime":"t"},null,true]"#,
            br#"[{"a":""eventTime":"no"","eventTime":"yes"}]"#,
            b"[]",
        ];
        let mut checked = 0;
        for seed in seeds {
            let mut docs = vec![seed.to_vec()];
            for at in 0..seed.len() {
                for change in [b' ', b',', b'}', b'"', b'x'] {
                    let mut changed = seed.to_vec();
                    changed[at] = change;
                    docs.push(changed);
                }
                let mut shorter = seed.to_vec();
                shorter.remove(at);
                docs.push(shorter);
            }
            for doc in docs {
                let expected = compact_array_elements(&doc).map(|ranges| {
                    ranges
                        .into_iter()
                        .map(|r| {
                            let time = find_member(&doc[r.clone()], b"\"eventTime\"");
                            (doc[r].to_vec(), time.map(<[u8]>::to_vec))
                        })
                        .collect::<Vec<_>>()
                });
                let got = compact_events(&doc).map(|events| {
                    events
                        .into_iter()
                        .map(|(r, t)| (doc[r].to_vec(), t.map(|t| doc[t].to_vec())))
                        .collect::<Vec<_>>()
                });
                assert_eq!(got, expected, "{}", String::from_utf8_lossy(&doc));
                checked += 1;
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
