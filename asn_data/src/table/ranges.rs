//! Enumerating the table by autonomous system: which address ranges an AS holds.
//!
//! Rule exports for SIEMs without ASN enrichment need the VPN ASNs written out as
//! address lists. The table stores start points only (each entry runs to the next
//! start), so a range is read off as "this start up to the next start minus one".
//! IPv6 keeps /64 blocks in the main arrays and the few blocks that hold a boundary
//! inside them in an exact table; lookups ask the exact table first, and so does
//! this walk.

use super::{Table, V4_BUCKETS, V6_LOW_BITS, W_ASN_INDEX, W_ASN_NUMBER, W_INDEX};
use crate::format::{read_le, read_u128, W_V4_LOW, W_V6_LOW};
use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A maximal run of addresses that one AS holds: neighbouring addresses belong to
/// another AS or to none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AddressRange {
    pub v6: bool,
    /// First and last address, as integers of the family (IPv4 fits in the low 32 bits).
    pub first: u128,
    pub last: u128,
    pub asn: u32,
}

/// One CIDR block: a network address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cidr {
    pub v6: bool,
    pub network: u128,
    pub prefix: u8,
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", to_ip(self.v6, self.network), self.prefix)
    }
}

/// `value` as an address of the family.
pub fn to_ip(v6: bool, value: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(value))
    } else {
        IpAddr::V4(Ipv4Addr::from(value as u32))
    }
}

impl AddressRange {
    /// Whether `address` (an integer of this range's family) lies in the range.
    pub fn contains(&self, address: u128) -> bool {
        self.first <= address && address <= self.last
    }

    /// The fewest CIDR blocks that cover exactly this range, ascending.
    pub fn cidrs(&self) -> Vec<Cidr> {
        let bits: u32 = if self.v6 { 128 } else { 32 };
        let mut blocks = Vec::new();
        let mut first = self.first;
        loop {
            // The largest block aligned at `first` that does not run past `last`.
            let mut size_bits = first.trailing_zeros().min(bits);
            while size_bits > 0 && block_last(first, size_bits) > self.last {
                size_bits -= 1;
            }
            blocks.push(Cidr {
                v6: self.v6,
                network: first,
                prefix: (bits - size_bits) as u8,
            });
            let end = block_last(first, size_bits);
            if end >= self.last {
                break;
            }
            first = end + 1;
        }
        blocks
    }
}

/// Last address of the block of `2^size_bits` addresses starting at `first`
/// (saturating: the whole IPv6 space ends at `u128::MAX`).
fn block_last(first: u128, size_bits: u32) -> u128 {
    let span = if size_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << size_bits) - 1
    };
    first.saturating_add(span)
}

impl Table<'_> {
    /// Every range held by an AS, IPv4 first, each family ascending; neighbouring
    /// pieces of the same AS are joined. Addresses without an AS are left out.
    /// Reads the whole table (about a million entries): meant for exports, not for
    /// the per-record path.
    pub fn all_ranges(&self) -> Vec<AddressRange> {
        let mut out = Vec::new();
        self.push_ranges(false, self.v4_points(), u128::from(u32::MAX), &mut out);
        self.push_ranges(true, self.v6_points(), u128::MAX, &mut out);
        out
    }

    /// The ranges of the ASes in `asns`, in the order of [`Table::all_ranges`].
    pub fn ranges_held_by(&self, asns: &[u32]) -> Vec<AddressRange> {
        let wanted: BTreeSet<u32> = asns.iter().copied().collect();
        self.all_ranges()
            .into_iter()
            .filter(|r| wanted.contains(&r.asn))
            .collect()
    }

    /// Start points `(address, ASN index)` of the IPv4 entries, ascending.
    fn v4_points(&self) -> Vec<(u128, usize)> {
        let mut points = Vec::new();
        for bucket in 0..V4_BUCKETS - 1 {
            let (Some(first), Some(end)) = (
                read_le::<W_INDEX>(self.v4_buckets, bucket),
                read_le::<W_INDEX>(self.v4_buckets, bucket + 1),
            ) else {
                break;
            };
            for entry in first as usize..end as usize {
                let (Some(low), Some(index)) = (
                    read_le::<W_V4_LOW>(self.v4_lows, entry),
                    read_le::<W_ASN_INDEX>(self.v4_asn, entry),
                ) else {
                    break;
                };
                points.push((((bucket as u128) << 16) | u128::from(low), index as usize));
            }
        }
        points
    }

    /// Start points of the IPv6 entries as lookups see them: a /64 block with exact
    /// entries is answered by those alone; the block after it returns to the main
    /// entry that covers it.
    fn v6_points(&self) -> Vec<(u128, usize)> {
        let mut main: Vec<(u64, usize)> = Vec::new();
        for slot in 0..self.v6_key_count {
            let (Some(key), Some(first), Some(end)) = (
                read_le::<W_INDEX>(self.v6_keys, slot),
                read_le::<W_INDEX>(self.v6_first, slot),
                read_le::<W_INDEX>(self.v6_first, slot + 1),
            ) else {
                break;
            };
            for entry in first as usize..end as usize {
                let (Some(low), Some(index)) = (
                    read_le::<W_V6_LOW>(self.v6_lows, entry),
                    read_le::<W_ASN_INDEX>(self.v6_asn, entry),
                ) else {
                    break;
                };
                main.push(((key << V6_LOW_BITS) | low, index as usize));
            }
        }
        let mut exact: Vec<(u128, usize)> = Vec::new();
        for entry in 0..self.v6_exact_count {
            let (Some(start), Some(index)) = (
                read_u128(self.v6_exact_starts, entry),
                read_le::<W_ASN_INDEX>(self.v6_exact_asn, entry),
            ) else {
                break;
            };
            exact.push((start, index as usize));
        }
        let exact_blocks: BTreeSet<u64> = exact.iter().map(|&(s, _)| (s >> 64) as u64).collect();
        let main_blocks: BTreeSet<u64> = main.iter().map(|&(b, _)| b).collect();
        // The main entry that covers `block`: the last one starting at or before it.
        let main_at = |block: u64| {
            let after = main.partition_point(|&(b, _)| b <= block);
            after
                .checked_sub(1)
                .and_then(|i| main.get(i))
                .map_or(0, |&(_, index)| index)
        };
        let mut points: Vec<(u128, usize)> = main
            .iter()
            .filter(|(block, _)| !exact_blocks.contains(block))
            .map(|&(block, index)| (u128::from(block) << 64, index))
            .collect();
        points.extend(exact.iter().copied());
        for &block in &exact_blocks {
            let Some(next) = block.checked_add(1) else {
                continue;
            };
            if !exact_blocks.contains(&next) && !main_blocks.contains(&next) {
                points.push((u128::from(next) << 64, main_at(next)));
            }
        }
        points.sort_unstable();
        points
    }

    /// Turns start points into ranges that run to the next start, keeps those with
    /// an AS, and joins neighbours of the same AS.
    fn push_ranges(
        &self,
        v6: bool,
        points: Vec<(u128, usize)>,
        family_last: u128,
        out: &mut Vec<AddressRange>,
    ) {
        let family_start = out.len();
        for (i, &(first, index)) in points.iter().enumerate() {
            let last = points
                .get(i + 1)
                .map_or(family_last, |&(next, _)| next.saturating_sub(1));
            let Some(asn) = index
                .checked_sub(1)
                .and_then(|position| read_le::<W_ASN_NUMBER>(self.asn_numbers, position))
                .and_then(|n| u32::try_from(n).ok())
            else {
                continue;
            };
            if let Some(previous) = out.get_mut(family_start..).and_then(|s| s.last_mut()) {
                if previous.asn == asn && previous.last.checked_add(1) == Some(first) {
                    previous.last = last;
                    continue;
                }
            }
            out.push(AddressRange {
                v6,
                first,
                last,
                asn,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str) -> u128 {
        u128::from(u32::from(
            text.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::UNSPECIFIED),
        ))
    }

    fn cidr_texts(range: AddressRange) -> Vec<String> {
        range.cidrs().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn an_unaligned_range_splits_into_the_fewest_blocks() {
        let range = AddressRange {
            v6: false,
            first: v4("10.0.0.1"),
            last: v4("10.0.0.6"),
            asn: 1,
        };
        assert_eq!(
            cidr_texts(range),
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
    }

    #[test]
    fn whole_families_are_one_block() {
        let all_v4 = AddressRange {
            v6: false,
            first: 0,
            last: u128::from(u32::MAX),
            asn: 1,
        };
        assert_eq!(cidr_texts(all_v4), ["0.0.0.0/0"]);
        let all_v6 = AddressRange {
            v6: true,
            first: 0,
            last: u128::MAX,
            asn: 1,
        };
        assert_eq!(cidr_texts(all_v6), ["::/0"]);
        let last_v6 = AddressRange {
            v6: true,
            first: u128::MAX,
            last: u128::MAX,
            asn: 1,
        };
        assert_eq!(
            cidr_texts(last_v6),
            ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"]
        );
    }

    /// Blocks are contiguous, aligned and cover the range exactly.
    #[test]
    fn blocks_tile_the_range() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let a = u128::from(seed as u32);
            let b = u128::from((seed >> 32) as u32);
            let range = AddressRange {
                v6: false,
                first: a.min(b),
                last: a.max(b),
                asn: 1,
            };
            let blocks = range.cidrs();
            let mut next = range.first;
            for block in &blocks {
                assert_eq!(block.network, next, "{range:?}");
                let size_bits = 32 - u32::from(block.prefix);
                assert!(block.network.trailing_zeros().min(32) >= size_bits);
                next = block_last(block.network, size_bits) + 1;
            }
            assert_eq!(next, range.last + 1, "{range:?}");
            assert!(blocks.len() <= 62, "{range:?}: {} blocks", blocks.len());
        }
    }
}
