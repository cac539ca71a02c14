//! What each event is published under: its partition (from the account of rule A's
//! key) and its message id (from `eventID`).
//!
//! Partition: FNV-1a (32 bit) of the account token, modulo the partition count,
//! exactly NATS's subject-mapping function `partition(N, …)` over one token
//! (nats-server `getHashPartition`: `fnv.New32a()` over the token bytes,
//! `Sum32() % N`). A producer that cannot compute it publishes to
//! `vpnrecon.in.<account>` and lets the server map the subject (docs/SCALING.md).

use vpnrecon_filter::record::visit_events;

/// The token used when an event has no usable account.
pub const NO_ACCOUNT: &str = "none";

/// FNV-1a, 32 bit.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// FNV-1a, 64 bit: the message id of a record without `eventID`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The partition of an account token, as NATS's `partition(n, token)` computes it.
pub fn partition_of(token: &str, partitions: u32) -> u32 {
    fnv1a32(token.as_bytes()) % partitions.max(1)
}

/// The account of the record's first event (`userIdentity.accountId`, else
/// `recipientAccountId`, or ECS `cloud.account.id`; numbers as twelve-digit text),
/// read by the filter's own parser, as a subject token: the account when it is made
/// of letters, digits, `-` and `_` only, else [`NO_ACCOUNT`].
pub fn account_token(record: &[u8]) -> String {
    let mut account: Option<String> = None;
    let _ = visit_events(record, &mut |slot| {
        if account.is_none() {
            account = slot.event.account_id.as_deref().map(str::to_owned);
        }
    });
    match account {
        Some(a)
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            a
        }
        _ => NO_ACCOUNT.to_owned(),
    }
}

/// The record's `eventID` (raw, EventBridge `detail`, a `log`/`message` wrapper, or
/// ECS `event.id`), else `fnv64-<hex of the record bytes>`: stable across re-runs.
pub fn event_id(record: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(record).ok();
    parsed
        .as_ref()
        .and_then(id_in)
        .unwrap_or_else(|| format!("fnv64-{:016x}", fnv1a64(record)))
}

fn id_in(value: &serde_json::Value) -> Option<String> {
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    if let Some(id) = text(value.get("eventID")) {
        return Some(id);
    }
    if let Some(id) = text(value.get("detail").and_then(|d| d.get("eventID"))) {
        return Some(id);
    }
    if let Some(id) = text(value.get("event").and_then(|e| e.get("id"))) {
        return Some(id);
    }
    if let Some(id) = text(value.get("event.id")) {
        return Some(id);
    }
    for key in ["log", "message"] {
        if let Some(inner) = value.get(key).and_then(|v| v.as_str()) {
            if let Ok(inner) = serde_json::from_str::<serde_json::Value>(inner) {
                return id_in(&inner);
            }
        }
    }
    None
}

/// A message id must not hold characters that some tools mishandle in headers.
pub fn header_safe(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a32_reference_values() {
        // Published FNV-1a test vectors.
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn account_from_number_and_fallback() {
        let rec = br#"{"eventName":"ListUsers","userIdentity":{"accountId":11122223333},"recipientAccountId":"9"}"#;
        assert_eq!(account_token(rec), "011122223333");
        let rec = br#"{"eventName":"ListUsers","recipientAccountId":"444455556666"}"#;
        assert_eq!(account_token(rec), "444455556666");
        assert_eq!(account_token(b"{}"), NO_ACCOUNT);
        assert_eq!(account_token(b"not json"), NO_ACCOUNT);
    }

    #[test]
    fn event_ids() {
        assert_eq!(event_id(br#"{"eventID":"e-1"}"#), "e-1");
        assert_eq!(event_id(br#"{"detail":{"eventID":"e-2"}}"#), "e-2");
        assert_eq!(event_id(br#"{"log":"{\"eventID\":\"e-3\"}"}"#), "e-3");
        assert!(event_id(b"{}").starts_with("fnv64-"));
    }
}
