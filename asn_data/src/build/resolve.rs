//! Turns possibly overlapping input ranges of one family into a flat list of
//! boundaries: `(first address, ASN)` pairs, ascending, starting at address 0, where
//! ASN 0 marks addresses without an AS. Each boundary holds until the next one.
//!
//! Overlap policy: the narrower range wins for the addresses both cover; between
//! ranges of equal width, the one read first wins. The result does not depend on the
//! order of non-overlapping rows.

use std::collections::BTreeMap;
use std::ops::Bound;

/// Boundaries plus what resolving them took.
#[derive(Debug, Default)]
pub struct Resolved {
    pub boundaries: Vec<(u128, u32)>,
    /// Input ranges that overlapped a range placed before them.
    pub overlaps: u64,
    /// Adjacent pieces of the same AS joined.
    pub merged: u64,
    /// Boundaries with ASN 0.
    pub gaps: u64,
}

/// `ranges` are `(start, end inclusive, asn)` in input order, `asn` never 0.
pub fn resolve(ranges: &[(u128, u128, u32)]) -> Resolved {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    // Stable sort: equal widths keep input order, so the first one read is placed first.
    order.sort_by_key(|&i| ranges.get(i).map(|&(s, e, _)| e - s));

    // start -> (end, asn) of the pieces placed so far; pieces never overlap.
    let mut placed: BTreeMap<u128, (u128, u32)> = BTreeMap::new();
    let mut overlaps = 0;
    for &(start, end, asn) in order.iter().filter_map(|&i| ranges.get(i)) {
        let mut taken: Vec<(u128, u128)> = Vec::new();
        if let Some((&s, &(e, _))) = placed.range(..=start).next_back() {
            if e >= start {
                taken.push((s, e));
            }
        }
        for (&s, &(e, _)) in placed.range((Bound::Excluded(start), Bound::Included(end))) {
            taken.push((s, e));
        }
        if !taken.is_empty() {
            overlaps += 1;
        }
        // Place the parts of [start, end] that no earlier piece holds.
        let mut cursor = Some(start);
        for (s, e) in taken {
            if let Some(c) = cursor {
                if s > c {
                    placed.insert(c, (s - 1, asn));
                }
                // Pieces are disjoint and ascending, so each ends at or after the cursor.
                cursor = e.checked_add(1);
            }
        }
        if let Some(c) = cursor {
            if c <= end {
                placed.insert(c, (end, asn));
            }
        }
    }

    let mut resolved = Resolved {
        overlaps,
        ..Resolved::default()
    };
    let mut next_free: Option<u128> = Some(0);
    for (start, (end, asn)) in placed {
        if next_free != Some(start) {
            resolved.boundaries.push((next_free.unwrap_or(0), 0));
            resolved.gaps += 1;
        }
        match resolved.boundaries.last() {
            Some(&(_, last)) if last == asn && next_free == Some(start) => resolved.merged += 1,
            _ => resolved.boundaries.push((start, asn)),
        }
        next_free = end.checked_add(1);
    }
    if let Some(free) = next_free {
        resolved.boundaries.push((free, 0));
        resolved.gaps += 1;
    }
    resolved
}

/// The ASN in effect at `address`.
pub fn value_at(boundaries: &[(u128, u32)], address: u128) -> u32 {
    let after = boundaries.partition_point(|&(start, _)| start <= address);
    after
        .checked_sub(1)
        .and_then(|i| boundaries.get(i))
        .map_or(0, |&(_, asn)| asn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_merges() {
        let r = resolve(&[(10, 19, 5), (20, 29, 5), (40, 49, 7)]);
        assert_eq!(
            r.boundaries,
            vec![(0, 0), (10, 5), (30, 0), (40, 7), (50, 0)]
        );
        assert_eq!((r.gaps, r.merged, r.overlaps), (3, 1, 0));
    }

    #[test]
    fn narrower_wins_inside_a_wider_range() {
        // 0..=99 AS 1 with 40..=49 AS 2 inside it.
        let r = resolve(&[(0, 99, 1), (40, 49, 2)]);
        assert_eq!(r.boundaries, vec![(0, 1), (40, 2), (50, 1), (100, 0)]);
        assert_eq!(r.overlaps, 1);
    }

    #[test]
    fn narrower_wins_on_a_partial_overlap() {
        // Shaped like the one overlap in the ip-location-db data: the wide range's tail
        // overlaps the head of a narrower one.
        let r = resolve(&[(0, 100, 749), (90, 120, 721)]);
        assert_eq!(r.boundaries, vec![(0, 749), (90, 721), (121, 0)]);
    }

    #[test]
    fn equal_width_first_read_wins() {
        let r = resolve(&[(0, 9, 3), (5, 14, 4)]);
        assert_eq!(r.boundaries, vec![(0, 3), (10, 4), (15, 0)]);
    }

    #[test]
    fn full_address_space_has_no_trailing_gap() {
        let r = resolve(&[(0, u128::MAX, 9)]);
        assert_eq!(r.boundaries, vec![(0, 9)]);
        assert_eq!(value_at(&r.boundaries, u128::MAX), 9);
    }
}
