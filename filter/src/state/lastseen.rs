//! Rule A's history: the last-seen event time of each key, bounded.
//!
//! Times are stored as `u32` seconds since 1970 (clamped; valid until 2106) next to
//! the 64-bit key packed as two `u32`, so an entry is 12 bytes and the map costs
//! about 13–30 bytes per key with hashbrown's control bytes and load factor.

use std::collections::HashMap;

use super::table::{clamp_u32, oldest_threshold, KeyWords, PreHashed};

/// Keys last seen this long before the newest event time, plus the window, can no
/// longer change a decision unless an event arrives more than this late: CloudTrail
/// delivers within minutes, so a day is a wide margin. Such keys are dropped before
/// any live key is evicted.
pub const LATE_ARRIVAL_MARGIN: i64 = 86_400;

/// What rule A learns from one candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstSeen {
    /// No candidate for this key in the window before this event. `previous` is the
    /// last-seen time when the key was known but older than the window.
    New { previous: Option<i64> },
    /// Seen within the window (or later than this event, for late arrivals).
    Recent { last_seen: i64 },
}

impl FirstSeen {
    pub fn is_new(&self) -> bool {
        matches!(self, FirstSeen::New { .. })
    }
}

/// New iff the gap since the stored last-seen time is more than the window.
fn judge(window: i64, previous: u32, now: u32) -> FirstSeen {
    let gap = i64::from(now) - i64::from(previous);
    if gap > window {
        FirstSeen::New {
            previous: Some(i64::from(previous)),
        }
    } else {
        FirstSeen::Recent {
            last_seen: i64::from(previous),
        }
    }
}

pub struct LastSeen {
    map: HashMap<KeyWords, u32, PreHashed>,
    window: i64,
    max_keys: usize,
    newest: u32,
    pub evicted: u64,
    pub expired: u64,
}

/// The outcome plus whether the stored time moved (and to what), for the journal.
pub struct Observed {
    pub first_seen: FirstSeen,
    pub created: bool,
    pub moved: Option<(u32, u32)>,
}

impl LastSeen {
    pub fn new(window: i64, max_keys: usize) -> LastSeen {
        LastSeen {
            map: HashMap::with_hasher(PreHashed),
            window,
            max_keys: max_keys.max(1),
            newest: 0,
            evicted: 0,
            expired: 0,
        }
    }

    /// Rule A (README, `CONFIG.md`): new iff no last-seen or `t - last_seen > window`; every
    /// candidate raises last-seen to `max(last_seen, t)`. An event older than the
    /// key's last-seen time gives a negative gap and so is never new, however late it
    /// arrives: the key is known to have been active after it.
    pub fn observe(&mut self, key: u64, t: i64) -> Observed {
        let now = clamp_u32(t);
        self.newest = self.newest.max(now);
        let words = KeyWords::from(key);
        let window = self.window;
        if let Some(last) = self.map.get_mut(&words) {
            let previous = *last;
            let first_seen = judge(window, previous, now);
            let moved = if now > previous {
                *last = now;
                Some((previous, now))
            } else {
                None
            };
            return Observed {
                first_seen,
                created: false,
                moved,
            };
        }
        self.make_room();
        self.map.insert(words, now);
        Observed {
            first_seen: FirstSeen::New { previous: None },
            created: true,
            moved: None,
        }
    }

    /// What [`LastSeen::observe`] would answer for (`key`, `t`), changing nothing.
    pub fn peek(&self, key: u64, t: i64) -> FirstSeen {
        match self.map.get(&KeyWords::from(key)) {
            Some(&previous) => judge(self.window, previous, clamp_u32(t)),
            None => FirstSeen::New { previous: None },
        }
    }

    /// Journal replay: raise the key's last-seen, no decision.
    pub fn restore(&mut self, key: u64, t: i64) {
        let at = clamp_u32(t);
        self.newest = self.newest.max(at);
        let words = KeyWords::from(key);
        if let Some(last) = self.map.get_mut(&words) {
            *last = (*last).max(at);
            return;
        }
        self.make_room();
        self.map.insert(words, at);
    }

    fn make_room(&mut self) {
        if self.map.len() < self.max_keys {
            return;
        }
        let horizon = i64::from(self.newest) - self.window - LATE_ARRIVAL_MARGIN;
        if horizon > 0 {
            let before = self.map.len();
            self.map.retain(|_, last| i64::from(*last) >= horizon);
            self.expired += (before - self.map.len()) as u64;
        }
        if self.map.len() < self.max_keys {
            return;
        }
        // Evict the least recently seen sixteenth in one pass, so the cost of a
        // full map is amortised over many inserts.
        let count = (self.map.len() / 16).max(1);
        let times: Vec<u32> = self.map.values().copied().collect();
        let (threshold, mut ties) = oldest_threshold(times, count);
        let before = self.map.len();
        self.map.retain(|_, last| {
            if *last < threshold {
                false
            } else if *last == threshold && ties > 0 {
                ties -= 1;
                false
            } else {
                true
            }
        });
        self.evicted += (before - self.map.len()) as u64;
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn entries(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        self.map.iter().map(|(k, t)| (u64::from(*k), i64::from(*t)))
    }

    /// Heap bytes held by the map: buckets of (key, time) plus one control byte each.
    pub fn heap_bytes(&self) -> usize {
        super::table::map_bytes::<KeyWords, u32>(self.map.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const WINDOW: i64 = 10 * DAY;
    const T0: i64 = 1_700_000_000;

    #[test]
    fn window_boundary_is_exclusive() {
        let mut seen = LastSeen::new(WINDOW, 100);
        assert_eq!(
            seen.observe(1, T0).first_seen,
            FirstSeen::New { previous: None }
        );
        // Exactly the window later: not new (the rule says "more than").
        assert_eq!(
            seen.observe(1, T0 + WINDOW).first_seen,
            FirstSeen::Recent { last_seen: T0 }
        );
        // Last-seen is now T0 + WINDOW; one window and a second later is new.
        assert_eq!(
            seen.observe(1, T0 + 2 * WINDOW + 1).first_seen,
            FirstSeen::New {
                previous: Some(T0 + WINDOW)
            }
        );
    }

    #[test]
    fn one_second_past_the_window_is_new() {
        let mut seen = LastSeen::new(WINDOW, 100);
        seen.observe(7, T0);
        assert!(seen.observe(7, T0 + WINDOW + 1).first_seen.is_new());
    }

    #[test]
    fn late_events_are_not_new_and_never_move_last_seen_back() {
        let mut seen = LastSeen::new(WINDOW, 100);
        seen.observe(1, T0);
        // Delivered late, 5 minutes older: within the window, not new.
        assert_eq!(
            seen.observe(1, T0 - 300).first_seen,
            FirstSeen::Recent { last_seen: T0 }
        );
        // Far older than last-seen: negative gap, still not new.
        assert!(!seen.observe(1, T0 - 30 * DAY).first_seen.is_new());
        // Last-seen stayed at T0: T0 + WINDOW is still inside.
        assert_eq!(
            seen.observe(1, T0 + WINDOW).first_seen,
            FirstSeen::Recent { last_seen: T0 }
        );
    }

    #[test]
    fn keys_are_independent() {
        let mut seen = LastSeen::new(WINDOW, 100);
        assert!(seen.observe(1, T0).first_seen.is_new());
        assert!(seen.observe(2, T0).first_seen.is_new());
        assert!(!seen.observe(1, T0 + 1).first_seen.is_new());
    }

    #[test]
    fn full_map_evicts_least_recently_seen_first() {
        let cap = 32;
        let mut seen = LastSeen::new(WINDOW, cap);
        // Keys 0..32 seen at increasing times, all within one window.
        for k in 0..cap as u64 {
            seen.observe(k, T0 + k as i64);
        }
        // Refresh key 0 so it is the most recent.
        seen.observe(0, T0 + 100);
        assert_eq!(seen.len(), cap);
        assert!(seen.observe(1000, T0 + 101).first_seen.is_new());
        // 32 / 16 = 2 evicted: the two oldest are keys 1 and 2.
        assert_eq!(seen.evicted, 2);
        assert_eq!(seen.len(), cap - 1);
        assert!(seen.observe(1, T0 + 102).first_seen.is_new());
        assert!(!seen.observe(0, T0 + 102).first_seen.is_new());
        assert!(!seen.observe(3, T0 + 102).first_seen.is_new());
    }

    #[test]
    fn expired_keys_go_before_live_ones() {
        let cap = 16;
        let mut seen = LastSeen::new(WINDOW, cap);
        for k in 0..8u64 {
            seen.observe(k, T0);
        }
        let later = T0 + WINDOW + LATE_ARRIVAL_MARGIN + 1;
        for k in 8..16u64 {
            seen.observe(k, later + k as i64);
        }
        seen.observe(99, later + 100);
        assert_eq!(seen.expired, 8);
        assert_eq!(seen.evicted, 0);
        for k in 8..16u64 {
            assert!(!seen.observe(k, later + 200).first_seen.is_new(), "key {k}");
        }
    }

    #[test]
    fn restore_never_lowers_last_seen() {
        let mut seen = LastSeen::new(WINDOW, 100);
        seen.restore(5, T0 + 100);
        seen.restore(5, T0);
        assert_eq!(
            seen.observe(5, T0 + 100 + WINDOW).first_seen,
            FirstSeen::Recent {
                last_seen: T0 + 100
            }
        );
    }
}
