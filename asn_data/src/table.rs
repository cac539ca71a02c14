//! A view over a baked table: validation at load, lookups straight from the bytes.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::format::{
    self, item_count, read_le, read_u128, Body, Header, Preamble, FORMAT_VERSION, MAGIC,
    V4_BUCKETS, V6_LOW_BITS, W_ASN_INDEX, W_ASN_NUMBER, W_INDEX, W_NAME_OFFSET, W_V4_LOW,
    W_V6_EXACT, W_V6_LOW,
};

mod ranges;
pub use ranges::{AddressRange, Cidr};

/// The autonomous system an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asn<'a> {
    pub number: u32,
    /// Organisation name as in the source data; empty if the source had none.
    pub organisation: &'a str,
}

/// Why bytes are not a usable table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableError {
    /// The bytes do not start with the table magic: not a table file at all.
    NotATable,
    /// A table of another layout version; rebuild it with this version of `asn-data`.
    UnsupportedVersion { found: u32, supported: u32 },
    /// bincode could not decode the file (truncated or corrupt).
    Decode(String),
    /// Decoded, but the arrays are inconsistent (which one, and how).
    Inconsistent(&'static str),
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::NotATable => write!(f, "not an ASN table (magic bytes missing)"),
            TableError::UnsupportedVersion { found, supported } => write!(
                f,
                "ASN table format version {found} is not supported (this build reads version {supported}); rebuild the table with `asn-data build`"
            ),
            TableError::Decode(why) => write!(f, "ASN table is truncated or corrupt: {why}"),
            TableError::Inconsistent(what) => write!(f, "ASN table is inconsistent: {what}"),
        }
    }
}

impl std::error::Error for TableError {}

/// A baked table, used in place.
#[derive(Debug, Clone)]
pub struct Table<'a> {
    header: Header<'a>,
    v4_buckets: &'a [u8],
    v4_lows: &'a [u8],
    v4_asn: &'a [u8],
    v6_keys: &'a [u8],
    v6_first: &'a [u8],
    v6_key_count: usize,
    v6_lows: &'a [u8],
    v6_asn: &'a [u8],
    v6_exact_starts: &'a [u8],
    v6_exact_count: usize,
    v6_exact_asn: &'a [u8],
    asn_numbers: &'a [u8],
    asn_count: usize,
    asn_name_offsets: &'a [u8],
    names: &'a [u8],
}

impl<'a> Table<'a> {
    /// Decodes and checks a table. Costs one pass over the small arrays (the IPv4 bucket
    /// index and the IPv6 directory); the big arrays are only length-checked.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Table<'a>, TableError> {
        if !bytes.starts_with(&MAGIC) {
            return Err(TableError::NotATable);
        }
        let decode_err = |e: bincode::error::DecodeError| TableError::Decode(e.to_string());
        let (preamble, used): (Preamble, usize) =
            bincode::borrow_decode_from_slice(bytes, format::decode_config())
                .map_err(decode_err)?;
        if preamble.format_version != FORMAT_VERSION {
            return Err(TableError::UnsupportedVersion {
                found: preamble.format_version,
                supported: FORMAT_VERSION,
            });
        }
        let rest = bytes.get(used..).ok_or(TableError::NotATable)?;
        let (body, body_len): (Body<'a>, usize) =
            bincode::borrow_decode_from_slice(rest, format::decode_config()).map_err(decode_err)?;
        if body_len != rest.len() {
            return Err(TableError::Inconsistent("trailing bytes after the table"));
        }
        Self::check(body)
    }

    fn check(b: Body<'a>) -> Result<Table<'a>, TableError> {
        use TableError::Inconsistent;
        let v4_n = item_count(b.v4_lows, W_V4_LOW).ok_or(Inconsistent("IPv4 starts"))?;
        if item_count(b.v4_asn, W_ASN_INDEX) != Some(v4_n) {
            return Err(Inconsistent("IPv4 ASN indexes do not match the starts"));
        }
        if item_count(b.v4_buckets, W_INDEX) != Some(V4_BUCKETS) {
            return Err(Inconsistent("IPv4 bucket index has the wrong size"));
        }
        check_monotonic(b.v4_buckets, V4_BUCKETS, v4_n).ok_or(Inconsistent(
            "IPv4 bucket index is not ascending within the entries",
        ))?;
        if v4_n == 0 {
            return Err(Inconsistent("IPv4 has no entries"));
        }

        let v6_n = item_count(b.v6_lows, W_V6_LOW).ok_or(Inconsistent("IPv6 starts"))?;
        if item_count(b.v6_asn, W_ASN_INDEX) != Some(v6_n) {
            return Err(Inconsistent("IPv6 ASN indexes do not match the starts"));
        }
        let v6_key_count = item_count(b.v6_keys, W_INDEX).ok_or(Inconsistent("IPv6 keys"))?;
        if v6_key_count == 0 || item_count(b.v6_first, W_INDEX) != Some(v6_key_count + 1) {
            return Err(Inconsistent("IPv6 directory sizes"));
        }
        check_monotonic(b.v6_first, v6_key_count + 1, v6_n).ok_or(Inconsistent(
            "IPv6 directory is not ascending within the entries",
        ))?;
        if read_le::<W_INDEX>(b.v6_keys, 0) != Some(0) {
            return Err(Inconsistent("IPv6 directory does not start at ::"));
        }
        let v6_exact_count =
            item_count(b.v6_exact_starts, W_V6_EXACT).ok_or(Inconsistent("IPv6 exact starts"))?;
        if item_count(b.v6_exact_asn, W_ASN_INDEX) != Some(v6_exact_count) {
            return Err(Inconsistent(
                "IPv6 exact ASN indexes do not match the starts",
            ));
        }

        let asn_count =
            item_count(b.asn_numbers, W_ASN_NUMBER).ok_or(Inconsistent("AS numbers"))?;
        if item_count(b.asn_name_offsets, W_NAME_OFFSET) != Some(asn_count) {
            return Err(Inconsistent("name offsets do not match the AS numbers"));
        }
        Ok(Table {
            header: b.header,
            v4_buckets: b.v4_buckets,
            v4_lows: b.v4_lows,
            v4_asn: b.v4_asn,
            v6_keys: b.v6_keys,
            v6_first: b.v6_first,
            v6_key_count,
            v6_lows: b.v6_lows,
            v6_asn: b.v6_asn,
            v6_exact_starts: b.v6_exact_starts,
            v6_exact_count,
            v6_exact_asn: b.v6_exact_asn,
            asn_numbers: b.asn_numbers,
            asn_count,
            asn_name_offsets: b.asn_name_offsets,
            names: b.names,
        })
    }

    /// Provenance and build counts.
    pub fn header(&self) -> &Header<'a> {
        &self.header
    }

    /// The AS of `ip`, or `None` for addresses no AS announces (private, reserved,
    /// unrouted). IPv4-mapped IPv6 (`::ffff:a.b.c.d`) resolves as the IPv4 address.
    pub fn lookup(&self, ip: IpAddr) -> Option<Asn<'_>> {
        self.asn_at(self.index_of(ip)?)
    }

    /// The AS number of the entry that holds `ip`, without reading its organisation
    /// name (the filter's prefilter needs only the number).
    pub fn lookup_number(&self, ip: IpAddr) -> Option<u32> {
        let position = self.index_of(ip)?.checked_sub(1)?;
        u32::try_from(read_le::<W_ASN_NUMBER>(self.asn_numbers, position)?).ok()
    }

    /// ASN index (1-based, 0 = none) of the entry that holds `ip`; IPv4-mapped IPv6
    /// resolves as IPv4.
    fn index_of(&self, ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(v4) => self.v4_index(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.v4_index(v4),
                None => self.v6_index(v6),
            },
        }
    }

    /// Whether `number` announces at least one range in this table.
    pub fn has_asn(&self, number: u32) -> bool {
        self.asn_position(number).is_some()
    }

    /// The organisation name of AS `number`, if the table knows that AS.
    pub fn organisation(&self, number: u32) -> Option<&str> {
        self.name_at(self.asn_position(number)?)
    }

    /// Every AS the table knows, ascending by number, with its organisation.
    pub fn asns(&self) -> impl Iterator<Item = Asn<'a>> + '_ {
        (0..self.asn_count).filter_map(move |position| {
            let number =
                u32::try_from(read_le::<W_ASN_NUMBER>(self.asn_numbers, position)?).ok()?;
            Some(Asn {
                number,
                organisation: self.name_at(position).unwrap_or(""),
            })
        })
    }

    /// Calls `visit` for every range of the table: IPv4 ascending, then IPv6
    /// ascending. One pass over the arrays; IPv6 needs a sorted list of its
    /// boundaries (a few MB for the baked table).
    pub fn for_each_range(&self, visit: &mut dyn FnMut(AsnRange)) {
        self.for_each_v4_range(visit);
        self.for_each_v6_range(visit);
    }

    /// Every range AS `number` announces, IPv4 first, ascending.
    pub fn ranges_of(&self, number: u32) -> Vec<AsnRange> {
        let mut out = Vec::new();
        self.for_each_range(&mut |range| {
            if range.asn == number {
                out.push(range);
            }
        });
        out
    }

    /// The range that holds `ip` (IPv4-mapped IPv6 as IPv4), `None` when no AS
    /// announces it.
    pub fn range_containing(&self, ip: IpAddr) -> Option<AsnRange> {
        let ip = ip.to_canonical();
        let mut found = None;
        let mut visit = |range: AsnRange| {
            if found.is_none() && range.contains(ip) {
                found = Some(range);
            }
        };
        match ip {
            IpAddr::V4(_) => self.for_each_v4_range(&mut visit),
            IpAddr::V6(_) => self.for_each_v6_range(&mut visit),
        }
        found
    }

    /// IPv4 entries in order: entry `i` starts at (its bucket << 16 | its low bits)
    /// and ends where the next entry starts.
    fn for_each_v4_range(&self, visit: &mut dyn FnMut(AsnRange)) {
        let mut joiner = RangeJoiner {
            v6: false,
            open: None,
            emit: visit,
        };
        let mut previous: Option<(u128, usize)> = None;
        for bucket in 0..V4_BUCKETS.saturating_sub(1) {
            let first = read_le::<W_INDEX>(self.v4_buckets, bucket).unwrap_or(0) as usize;
            let end = read_le::<W_INDEX>(self.v4_buckets, bucket + 1).unwrap_or(0) as usize;
            for entry in first..end {
                let Some(low) = read_le::<W_V4_LOW>(self.v4_lows, entry) else {
                    continue;
                };
                let start = (bucket as u128) << 16 | u128::from(low);
                let index = read_le::<W_ASN_INDEX>(self.v4_asn, entry).unwrap_or(0) as usize;
                if let Some((prev_start, prev_index)) = previous {
                    joiner.piece(
                        prev_start,
                        start.saturating_sub(1),
                        self.number_at(prev_index),
                    );
                }
                previous = Some((start, index));
            }
        }
        if let Some((start, index)) = previous {
            joiner.piece(start, u128::from(u32::MAX), self.number_at(index));
        }
        joiner.flush();
    }

    /// IPv6: the answer can change only at a main entry's /64 start, at an exact
    /// start, or right after a /64 block described exactly; between two such points
    /// the lookup is constant, so asking it at each point gives every range.
    fn for_each_v6_range(&self, visit: &mut dyn FnMut(AsnRange)) {
        let mut points: Vec<u128> = Vec::new();
        for slot in 0..self.v6_key_count {
            let key = read_le::<W_INDEX>(self.v6_keys, slot).unwrap_or(0);
            let first = read_le::<W_INDEX>(self.v6_first, slot).unwrap_or(0) as usize;
            let end = read_le::<W_INDEX>(self.v6_first, slot + 1).unwrap_or(0) as usize;
            for entry in first..end {
                if let Some(low) = read_le::<W_V6_LOW>(self.v6_lows, entry) {
                    let block = key << V6_LOW_BITS | low;
                    points.push(u128::from(block) << 64);
                }
            }
        }
        for entry in 0..self.v6_exact_count {
            if let Some(start) = read_u128(self.v6_exact_starts, entry) {
                points.push(start);
                if let Some(next_block) = ((start >> 64) as u64).checked_add(1) {
                    points.push(u128::from(next_block) << 64);
                }
            }
        }
        points.push(0);
        points.sort_unstable();
        points.dedup();
        let mut joiner = RangeJoiner {
            v6: true,
            open: None,
            emit: visit,
        };
        for (position, &start) in points.iter().enumerate() {
            let last = points.get(position + 1).map_or(u128::MAX, |next| next - 1);
            let index = self.v6_index(Ipv6Addr::from(start)).unwrap_or(0);
            joiner.piece(start, last, self.number_at(index));
        }
        joiner.flush();
    }

    /// The AS number of a 1-based ASN index (0 = no AS).
    fn number_at(&self, index: usize) -> Option<u32> {
        let position = index.checked_sub(1)?;
        u32::try_from(read_le::<W_ASN_NUMBER>(self.asn_numbers, position)?).ok()
    }

    /// ASN index (1-based, 0 = none) of the entry that holds `ip`.
    fn v4_index(&self, ip: Ipv4Addr) -> Option<usize> {
        let ip = u32::from(ip);
        let bucket = (ip >> 16) as usize;
        let low = u64::from(ip & 0xffff);
        let first = read_le::<W_INDEX>(self.v4_buckets, bucket)? as usize;
        let end = read_le::<W_INDEX>(self.v4_buckets, bucket.checked_add(1)?)? as usize;
        let after = first_above(first, end, |i| read_le::<W_V4_LOW>(self.v4_lows, i), low)?;
        // Below the bucket's first start, the address belongs to the entry before the
        // bucket (the table always has an entry at 0.0.0.0, so it exists).
        let entry = after.checked_sub(1)?;
        read_le::<W_ASN_INDEX>(self.v4_asn, entry).map(|v| v as usize)
    }

    fn v6_index(&self, ip: Ipv6Addr) -> Option<usize> {
        let ip = u128::from(ip);
        let block = (ip >> 64) as u64;
        if let Some(index) = self.v6_exact_index(ip, block) {
            return Some(index);
        }
        let key = block >> V6_LOW_BITS;
        let low = block & ((1u64 << V6_LOW_BITS) - 1);
        let keys = |i| read_le::<W_INDEX>(self.v6_keys, i);
        let slot = first_above(0, self.v6_key_count, keys, key)?.checked_sub(1)?;
        let first = read_le::<W_INDEX>(self.v6_first, slot)? as usize;
        let end = read_le::<W_INDEX>(self.v6_first, slot.checked_add(1)?)? as usize;
        let entry = if keys(slot)? == key {
            first_above(first, end, |i| read_le::<W_V6_LOW>(self.v6_lows, i), low)?
                .checked_sub(1)?
        } else {
            // The key has no entries of its own: the last entry of the key before it
            // covers the whole stretch.
            end.checked_sub(1)?
        };
        read_le::<W_ASN_INDEX>(self.v6_asn, entry).map(|v| v as usize)
    }

    /// Exact entries cover whole /64 blocks that contain a non-aligned boundary; each such
    /// block has an exact entry at its own start, so "last exact start ≤ ip, in the same
    /// block" decides whether the exception table answers.
    fn v6_exact_index(&self, ip: u128, block: u64) -> Option<usize> {
        let starts = |i| read_u128(self.v6_exact_starts, i);
        let mut lo = 0;
        let mut hi = self.v6_exact_count;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if starts(mid)? <= ip {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let entry = lo.checked_sub(1)?;
        if (starts(entry)? >> 64) as u64 != block {
            return None;
        }
        read_le::<W_ASN_INDEX>(self.v6_exact_asn, entry).map(|v| v as usize)
    }

    fn asn_at(&self, index: usize) -> Option<Asn<'_>> {
        let position = index.checked_sub(1)?;
        let number = u32::try_from(read_le::<W_ASN_NUMBER>(self.asn_numbers, position)?).ok()?;
        let organisation = self.name_at(position).unwrap_or("");
        Some(Asn {
            number,
            organisation,
        })
    }

    fn asn_position(&self, number: u32) -> Option<usize> {
        let numbers = |i| read_le::<W_ASN_NUMBER>(self.asn_numbers, i);
        let after = first_above(0, self.asn_count, numbers, u64::from(number))?;
        let position = after.checked_sub(1)?;
        (numbers(position)? == u64::from(number)).then_some(position)
    }

    fn name_at(&self, position: usize) -> Option<&'a str> {
        let offset = read_le::<W_NAME_OFFSET>(self.asn_name_offsets, position)? as usize;
        let len = usize::from(*self.names.get(offset)?);
        let start = offset.checked_add(1)?;
        let bytes = self.names.get(start..start.checked_add(len)?)?;
        core::str::from_utf8(bytes).ok()
    }
}

/// A maximal run of consecutive addresses that one AS announces, as the table holds
/// it (adjacent pieces of the same AS are one range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsnRange {
    pub first: IpAddr,
    pub last: IpAddr,
    pub asn: u32,
}

impl AsnRange {
    /// How many addresses the range holds (an IPv6 range may hold up to 2^128 - 1
    /// more than fits, so the count saturates).
    pub fn addresses(&self) -> u128 {
        let (first, last) = (ip_value(self.first), ip_value(self.last));
        last.saturating_sub(first).saturating_add(1)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.first.is_ipv4() == ip.is_ipv4()
            && ip_value(self.first) <= ip_value(ip)
            && ip_value(ip) <= ip_value(self.last)
    }

    /// The prefix length when the range is exactly one CIDR block.
    pub fn prefix_len(&self) -> Option<u8> {
        let bits: u32 = if self.first.is_ipv4() { 32 } else { 128 };
        let (first, last) = (ip_value(self.first), ip_value(self.last));
        let span = last.checked_sub(first)?.checked_add(1);
        let host_bits = match span {
            Some(span) if span.is_power_of_two() => span.trailing_zeros(),
            Some(_) => return None,
            // The whole IPv6 space.
            None => 128,
        };
        let aligned = host_bits >= 128 || first.trailing_zeros() >= host_bits;
        (aligned && host_bits <= bits).then(|| (bits - host_bits) as u8)
    }
}

impl fmt::Display for AsnRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix_len() {
            Some(len) => write!(f, "{}/{len}", self.first),
            None => write!(f, "{} - {}", self.first, self.last),
        }
    }
}

fn ip_value(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Joins consecutive pieces of the same AS and hands each finished range over;
/// addresses without an AS (index 0) end a range and start none.
struct RangeJoiner<'f> {
    v6: bool,
    open: Option<(u128, u128, u32)>,
    emit: &'f mut dyn FnMut(AsnRange),
}

impl RangeJoiner<'_> {
    fn piece(&mut self, first: u128, last: u128, asn: Option<u32>) {
        if let (Some((_, open_last, open_asn)), Some(asn)) = (self.open.as_mut(), asn) {
            if *open_asn == asn && open_last.checked_add(1) == Some(first) {
                *open_last = last;
                return;
            }
        }
        self.flush();
        self.open = asn.map(|asn| (first, last, asn));
    }

    fn flush(&mut self) {
        let Some((first, last, asn)) = self.open.take() else {
            return;
        };
        let to_ip = |value: u128| {
            if self.v6 {
                IpAddr::V6(Ipv6Addr::from(value))
            } else {
                IpAddr::V4(Ipv4Addr::from(value as u32))
            }
        };
        (self.emit)(AsnRange {
            first: to_ip(first),
            last: to_ip(last),
            asn,
        });
    }
}

/// First index in `lo..hi` whose value is above `x`, for values ascending over the
/// range (a binary search). `None` if a value cannot be read (corrupt table).
#[inline]
fn first_above(
    mut lo: usize,
    mut hi: usize,
    value: impl Fn(usize) -> Option<u64>,
    x: u64,
) -> Option<usize> {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if value(mid)? <= x {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// Checks that `count` u32 values start at 0, never decrease and end at `total`.
fn check_monotonic(blob: &[u8], count: usize, total: usize) -> Option<()> {
    let mut previous = 0u64;
    for i in 0..count {
        let value = read_le::<W_INDEX>(blob, i)?;
        if value < previous || value > total as u64 {
            return None;
        }
        previous = value;
    }
    (read_le::<W_INDEX>(blob, 0)? == 0 && previous == total as u64).then_some(())
}
