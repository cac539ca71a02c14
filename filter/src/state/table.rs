//! Building blocks shared by the two state maps: compact keys, a pass-through hasher
//! and batch eviction.

use std::hash::{BuildHasher, Hash, Hasher};

/// A 64-bit key stored as two `u32` so that `(key, u32 value)` packs into 12 bytes
/// instead of 16 (a `u64` would force 8-byte alignment and padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyWords([u32; 2]);

impl From<u64> for KeyWords {
    fn from(key: u64) -> KeyWords {
        KeyWords([key as u32, (key >> 32) as u32])
    }
}

impl From<KeyWords> for u64 {
    fn from(words: KeyWords) -> u64 {
        u64::from(words.0[0]) | (u64::from(words.0[1]) << 32)
    }
}

impl Hash for KeyWords {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(*self));
    }
}

/// Keys are already SipHash outputs under a secret, uniformly distributed and not
/// choosable by an attacker, so hashing them again would only cost time.
#[derive(Clone, Copy, Debug, Default)]
pub struct PreHashed;

#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached if a key type hashes bytes; fold them in so it still works.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

impl BuildHasher for PreHashed {
    type Hasher = PassThrough;
    fn build_hasher(&self) -> PassThrough {
        PassThrough(0)
    }
}

/// Seconds (or hours) as stored: clamped to `u32`, i.e. 1970–2106 for seconds.
pub fn clamp_u32(t: i64) -> u32 {
    t.clamp(0, i64::from(u32::MAX)) as u32
}

/// For evicting the `count` oldest of `times`: the time at the cut and how many
/// entries *at* that time to remove (entries below it all go).
pub fn oldest_threshold(mut times: Vec<u32>, count: usize) -> (u32, usize) {
    if times.is_empty() || count == 0 {
        return (0, 0);
    }
    let nth = count.min(times.len()) - 1;
    let (below, threshold, _) = times.select_nth_unstable(nth);
    let threshold = *threshold;
    let strictly_below = below.iter().filter(|t| **t < threshold).count();
    (threshold, nth + 1 - strictly_below)
}

/// Heap bytes of a std `HashMap` with this `capacity()`: hashbrown keeps a
/// power-of-two number of buckets, at most 7/8 full, each holding one `(K, V)` and
/// one control byte, plus one group of trailing control bytes.
pub fn map_bytes<K, V>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        (capacity + 1).next_power_of_two()
    } else {
        (capacity.saturating_mul(8) / 7).next_power_of_two()
    };
    buckets * (std::mem::size_of::<(K, V)>() + 1) + 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_pack_into_twelve_bytes() {
        assert_eq!(std::mem::size_of::<(KeyWords, u32)>(), 12);
    }

    #[test]
    fn key_words_round_trip() {
        for key in [0u64, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(u64::from(KeyWords::from(key)), key);
        }
    }

    #[test]
    fn threshold_counts_ties() {
        // Oldest 3 of [5, 1, 5, 5, 9]: 1 and two of the three 5s.
        assert_eq!(oldest_threshold(vec![5, 1, 5, 5, 9], 3), (5, 2));
        assert_eq!(oldest_threshold(vec![4, 3, 2, 1], 2), (2, 1));
        assert_eq!(oldest_threshold(vec![], 2), (0, 0));
    }

    #[test]
    fn clamping() {
        assert_eq!(clamp_u32(-1), 0);
        assert_eq!(clamp_u32(1 << 40), u32::MAX);
        assert_eq!(clamp_u32(1_700_000_000), 1_700_000_000);
    }
}
