//! The output contract: a record comes back byte for byte, or byte for byte with one
//! `"detection":{...}` member spliced before its final `}`.

use serde_json::Value;

/// Compares a returned record with its input. `Ok(None)`: unchanged. `Ok(Some(d))`:
/// exactly one member `detection` was spliced in, and `d` is its parsed value.
pub fn detection_of(input: &[u8], output: &[u8]) -> Result<Option<Value>, String> {
    if input == output {
        return Ok(None);
    }
    let close = input
        .iter()
        .rposition(|&b| b == b'}')
        .ok_or("input has no closing brace, yet the output differs")?;
    let (head, tail) = input.split_at(close);
    if output.len() <= input.len() || !output.starts_with(head) || !output.ends_with(tail) {
        return Err(format!(
            "output is not the input plus a spliced member:\n input: {}\noutput: {}",
            String::from_utf8_lossy(input),
            String::from_utf8_lossy(output)
        ));
    }
    let added = &output[head.len()..output.len() - tail.len()];
    let empty_object = head
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    let prefix: &[u8] = if empty_object {
        b"\"detection\":"
    } else {
        b",\"detection\":"
    };
    let value = added.strip_prefix(prefix).ok_or_else(|| {
        format!(
            "spliced text does not start with {}: {}",
            String::from_utf8_lossy(prefix),
            String::from_utf8_lossy(added)
        )
    })?;
    let parsed: Value = serde_json::from_slice(value).map_err(|e| {
        format!(
            "spliced detection is not JSON ({e}): {}",
            String::from_utf8_lossy(value)
        )
    })?;
    if !parsed.is_object() {
        return Err(format!("spliced detection is not an object: {parsed}"));
    }
    // The whole record must still be JSON. serde_json stops at 128 levels of nesting,
    // so records deeper than that (valid, but beyond it) are checked by the splice alone.
    let parses = |bytes: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
    if parses(input) && !parses(output) {
        return Err("output record is not JSON".to_owned());
    }
    Ok(Some(parsed))
}

/// The per-event detections of a record's `detection` value: a single event's
/// object (index `None`) or each entry of `events` with its `index`.
pub fn events_of(detection: &Value) -> Result<Vec<(Option<u64>, Value)>, String> {
    match detection.get("events") {
        None => Ok(vec![(None, detection.clone())]),
        Some(Value::Array(list)) => list
            .iter()
            .map(|event| {
                let index = event
                    .get("index")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| format!("batched detection without index: {event}"))?;
                Ok((Some(index), event.clone()))
            })
            .collect(),
        Some(other) => Err(format!("`events` is not an array: {other}")),
    }
}
