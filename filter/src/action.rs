//! Action names as the rules compare them: Lambda's versioned API names
//! (`ListFunctions20150331`) are the same action as the plain name. Used by the
//! configuration (which stores normalised names), the prefilter and the rules.

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
