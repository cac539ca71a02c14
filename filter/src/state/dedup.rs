//! Rule B's hourly dedup: has this (key, UTC hour) been seen?
//!
//! Entries are kept for the newest hour seen (of any key) and the [`HOURS_KEPT`]
//! hours before it, so an event that arrives up to a day after newer events is
//! still deduplicated against its own hour; older entries are pruned, which bounds
//! memory by the keys active in those hours (and by the cap). An event more than a
//! day late can alert a second time for its hour; CloudTrail's delivery delay is
//! minutes.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use super::table::{clamp_u32, oldest_threshold, KeyWords, PreHashed};

/// An event at most a day older than the newest one lies at most 24 clock hours
/// before the newest hour.
pub const HOURS_KEPT: u32 = 24;

/// (key, hour) packed into 12 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    key: KeyWords,
    hour: u32,
}

impl Hash for Seen {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Mix the hour in with an odd multiplier so one key's hours spread out.
        let mixed = u64::from(self.key) ^ u64::from(self.hour).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        state.write_u64(mixed);
    }
}

pub struct HourDedup {
    set: HashSet<Seen, PreHashed>,
    max_keys: usize,
    newest: u32,
    pub evicted: u64,
}

impl HourDedup {
    pub fn new(max_keys: usize) -> HourDedup {
        HourDedup {
            set: HashSet::with_hasher(PreHashed),
            max_keys: max_keys.max(1),
            newest: 0,
            evicted: 0,
        }
    }

    /// `true` iff (key, hour) had not been seen (and records it).
    pub fn observe(&mut self, key: u64, hour: i64) -> bool {
        let hour = clamp_u32(hour);
        if hour > self.newest {
            self.newest = hour;
            let oldest_kept = hour.saturating_sub(HOURS_KEPT);
            self.set.retain(|seen| seen.hour >= oldest_kept);
        }
        let seen = Seen {
            key: KeyWords::from(key),
            hour,
        };
        if self.set.contains(&seen) {
            return false;
        }
        self.make_room();
        self.set.insert(seen);
        true
    }

    /// Whether (key, hour) is recorded: [`HourDedup::observe`] would answer `false`.
    pub fn contains(&self, key: u64, hour: i64) -> bool {
        self.set.contains(&Seen {
            key: KeyWords::from(key),
            hour: clamp_u32(hour),
        })
    }

    fn make_room(&mut self) {
        if self.set.len() < self.max_keys {
            return;
        }
        let count = (self.set.len() / 16).max(1);
        let hours: Vec<u32> = self.set.iter().map(|s| s.hour).collect();
        let (threshold, mut ties) = oldest_threshold(hours, count);
        let before = self.set.len();
        self.set.retain(|s| {
            if s.hour < threshold {
                false
            } else if s.hour == threshold && ties > 0 {
                ties -= 1;
                false
            } else {
                true
            }
        });
        self.evicted += (before - self.set.len()) as u64;
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn entries(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        self.set
            .iter()
            .map(|s| (u64::from(s.key), i64::from(s.hour)))
    }

    pub fn heap_bytes(&self) -> usize {
        super::table::map_bytes::<Seen, ()>(self.set.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H0: i64 = 472_222; // an hour in 2023

    #[test]
    fn once_per_key_and_hour() {
        let mut dedup = HourDedup::new(100);
        assert!(dedup.observe(1, H0));
        assert!(!dedup.observe(1, H0));
        assert!(dedup.observe(2, H0));
        // Next clock hour: alerts again.
        assert!(dedup.observe(1, H0 + 1));
        assert!(!dedup.observe(1, H0 + 1));
    }

    #[test]
    fn late_events_within_a_day_stay_deduplicated() {
        let mut dedup = HourDedup::new(100);
        assert!(dedup.observe(1, H0));
        assert!(dedup.observe(1, H0 + 2));
        assert!(!dedup.observe(1, H0));
        // Another key 24 hours on: key 1's hour H0 is still known.
        assert!(dedup.observe(9, H0 + 24));
        assert!(!dedup.observe(1, H0));
        assert_eq!(dedup.len(), 3);
        // 25 hours on, H0 is pruned (H0 + 2 and H0 + 24 stay): memory stays bounded.
        assert!(dedup.observe(9, H0 + 25));
        assert_eq!(dedup.len(), 3);
        assert!(dedup.observe(1, H0));
    }

    #[test]
    fn cap_evicts_oldest_hours() {
        let mut dedup = HourDedup::new(16);
        // 16 keys in hour H0, then one more in the same hour.
        for k in 0..16u64 {
            assert!(dedup.observe(k, H0));
        }
        assert!(dedup.observe(100, H0 + 1));
        assert_eq!(dedup.evicted, 1);
        assert_eq!(dedup.len(), 16);
    }
}
