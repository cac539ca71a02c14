//! The last state key made, with the parts it was made of.
//!
//! One identity makes many calls in a row, and hashing a key costs about 1,800 wasm
//! instructions; comparing its parts with the last ones costs a tenth of that. The
//! parts are kept as the hasher reads them (each preceded by its length), so equal
//! parts are the same message and give the same key.

use super::KeyHasher;

/// Longer messages are not kept (an identity is an ARN of a few hundred bytes at
/// most).
const MAX_KEPT: usize = 1024;

pub struct RecentKey {
    /// The length-prefixed parts of the last key; empty when none is kept.
    message: Vec<u8>,
    key: u64,
}

impl Default for RecentKey {
    /// Room for the usual key from the start, so a candidate never pays for the
    /// buffer growing.
    fn default() -> RecentKey {
        RecentKey {
            message: Vec::with_capacity(256),
            key: 0,
        }
    }
}

impl RecentKey {
    /// `hasher.key(parts)`, from the last key when its parts are the same. Inlined:
    /// the rules' parts start with a constant, which the hasher then folds in.
    #[inline(always)]
    pub fn key(&mut self, hasher: &KeyHasher, parts: &[&[u8]]) -> u64 {
        if self.holds(parts) {
            return self.key;
        }
        self.message.clear();
        for part in parts {
            self.message
                .extend_from_slice(&(part.len() as u64).to_le_bytes());
            self.message.extend_from_slice(part);
        }
        let key = hasher.key_of_message(&self.message);
        if self.message.len() > MAX_KEPT {
            *self = RecentKey::default();
        }
        self.key = key;
        key
    }

    /// Whether the kept message is `parts`, length-prefixed.
    #[inline(always)]
    fn holds(&self, parts: &[&[u8]]) -> bool {
        if self.message.is_empty() {
            return false;
        }
        let mut rest = self.message.as_slice();
        for part in parts {
            let Some((len, after)) = rest.split_first_chunk::<8>() else {
                return false;
            };
            if u64::from_le_bytes(*len) != part.len() as u64 {
                return false;
            }
            let Some((kept, after)) = after.split_at_checked(part.len()) else {
                return false;
            };
            if !crate::scan::bytes_eq(kept, part) {
                return false;
            }
            rest = after;
        }
        rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_keys_are_the_hashers() {
        let hasher = KeyHasher::from_secret([3; 16]);
        let long = vec![b'x'; MAX_KEPT];
        let sequences: [&[&[u8]]; 14] = [
            &[b"discovery", b"111122223333", b"alice", b"AS1"],
            &[b"discovery", b"111122223333", b"alice", b"AS1"],
            &[b"discovery", b"111122223333", b"alicf", b"AS1"],
            &[b"discovery", b"111122223333", b"alic", b"fAS1"],
            &[b"discovery", b"111122223333", b"alic", b"fAS1", b""],
            &[b"discovery", b"111122223333", b"alic"],
            &[b"discovery", b"111122223333", b"alic", b"fAS1"],
            &[b"discovery", b"111122223333", b"alic", b"fAS2"],
            &[],
            &[],
            &[b""],
            &[&long],
            &[&long],
            &[b"discovery", b"111122223333", b"alic", b"fAS2"],
        ];
        let mut recent = RecentKey::default();
        for parts in sequences {
            assert_eq!(recent.key(&hasher, parts), hasher.key(parts), "{parts:?}");
        }
        // What was kept is used: the same parts a second time give the kept key
        // (a key kept under another hasher shows it).
        let other = KeyHasher::from_secret([4; 16]);
        let parts: &[&[u8]] = &[b"discovery", b"a", b"b"];
        recent.key(&hasher, parts);
        assert_eq!(recent.key(&other, parts), hasher.key(parts));
        assert_eq!(recent.key(&other, &[b"x"]), other.key(&[b"x"]));
    }
}
