//! The strings of detections already rendered, kept for the next detection's fields.
//!
//! A [`Detection`] owns a dozen strings. Inside the router's wasm interpreter each
//! allocation and release costs a few hundred instructions, more than copying the
//! text, so the engine hands its rendered detections back ([`Spare::keep_all`]) and the
//! rules refill those buffers ([`Spare::text`]) instead of allocating new ones. The
//! text written is the same either way; only where it lives changes.
//!
//! Bounded: at most [`MAX_STRINGS`] buffers of at most [`MAX_CAPACITY`] bytes each
//! are kept; anything beyond is released as before.

use super::{Candidate, Detection};

/// Enough for four detections (a batch rarely holds more firing events).
pub const MAX_STRINGS: usize = 48;
/// A longer buffer (an unusually long ARN) is released rather than kept.
pub const MAX_CAPACITY: usize = 1024;

/// Buffers to reuse, most recently kept last.
#[derive(Debug, Default)]
pub struct Spare {
    strings: Vec<String>,
}

impl Spare {
    /// A string holding `text`, in a kept buffer when there is one.
    pub fn text(&mut self, text: &str) -> String {
        match self.strings.pop() {
            Some(mut kept) => {
                kept.clear();
                kept.push_str(text);
                kept
            }
            None => text.to_owned(),
        }
    }

    /// [`Spare::text`] of an optional field.
    pub fn optional(&mut self, text: Option<&str>) -> Option<String> {
        text.map(|text| self.text(text))
    }

    /// Keeps the buffers of every detection in `detections`, which is left empty.
    pub fn keep_all(&mut self, detections: &mut Vec<Detection>) {
        for detection in detections.drain(..) {
            self.keep(detection);
        }
    }

    /// Keeps the buffers of one detection. Fields are kept in the reverse of the
    /// order rule A fills them, so that each buffer tends to come back to the field
    /// it last held and already has room for it (a buffer that is too small grows,
    /// as a new one would).
    fn keep(&mut self, detection: Detection) {
        let Detection {
            candidate,
            identity_key,
            identity_type,
            user_name,
            account_id,
            access_key_id,
            region,
            reason,
            index: _,
            rule: _,
            previous_seen: _,
        } = detection;
        let Candidate {
            organisation,
            category,
            action,
            provider,
            arn,
            ..
        } = candidate;
        for kept in [arn, provider, action, category, organisation] {
            self.put(kept);
        }
        for kept in [region, access_key_id, account_id, user_name, identity_type]
            .into_iter()
            .flatten()
        {
            self.put(kept);
        }
        self.put(identity_key);
        self.put(reason);
    }

    fn put(&mut self, kept: String) {
        if self.strings.len() < MAX_STRINGS && kept.capacity() <= MAX_CAPACITY {
            self.strings.push(kept);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_buffers_hold_exactly_the_new_text() {
        let mut spare = Spare::default();
        let long = "x".repeat(200);
        for text in [
            "",
            "a",
            "arn:aws:iam::111122223333:user/alice",
            long.as_str(),
            "b",
        ] {
            let s = spare.text(text);
            assert_eq!(s, text);
            spare.put(s);
        }
        assert_eq!(spare.strings.len(), 1);
        assert_eq!(spare.optional(None), None);
        assert_eq!(spare.optional(Some("c")).as_deref(), Some("c"));
        assert!(spare.strings.is_empty());
    }

    #[test]
    fn what_is_kept_is_bounded() {
        let mut spare = Spare::default();
        for _ in 0..MAX_STRINGS + 10 {
            spare.put(String::with_capacity(16));
        }
        assert_eq!(spare.strings.len(), MAX_STRINGS);
        let mut spare = Spare::default();
        spare.put(String::with_capacity(MAX_CAPACITY + 1));
        spare.put(String::with_capacity(MAX_CAPACITY));
        assert_eq!(spare.strings.len(), 1);
    }
}
