//! Enumerating the table by autonomous system as integer ranges and CIDR blocks.
//!
//! Rule exports for SIEMs without ASN enrichment need the VPN ASNs written out as
//! address lists. The ranges come from [`Table::for_each_range`] (the one walk over
//! the table's start points, exact IPv6 entries included); this module turns them
//! into integers of the family and splits them into the fewest CIDR blocks.

use super::Table;
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
    /// the per-record path. The same walk as [`Table::for_each_range`], as integers.
    pub fn all_ranges(&self) -> Vec<AddressRange> {
        let mut out = Vec::new();
        self.for_each_range(&mut |range| {
            out.push(AddressRange {
                v6: range.first.is_ipv6(),
                first: super::ip_value(range.first),
                last: super::ip_value(range.last),
                asn: range.asn,
            })
        });
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
