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
        let index = match ip {
            IpAddr::V4(v4) => self.v4_index(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.v4_index(v4),
                None => self.v6_index(v6),
            },
        }?;
        self.asn_at(index)
    }

    /// The AS number of the entry that holds `ip`, without reading its organisation
    /// name (the filter's prefilter needs only the number).
    pub fn lookup_number(&self, ip: IpAddr) -> Option<u32> {
        let index = match ip {
            IpAddr::V4(v4) => self.v4_index(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.v4_index(v4),
                None => self.v6_index(v6),
            },
        }?;
        let position = index.checked_sub(1)?;
        u32::try_from(read_le::<W_ASN_NUMBER>(self.asn_numbers, position)?).ok()
    }

    /// Whether `number` announces at least one range in this table.
    pub fn has_asn(&self, number: u32) -> bool {
        self.asn_position(number).is_some()
    }

    /// The organisation name of AS `number`, if the table knows that AS.
    pub fn organisation(&self, number: u32) -> Option<&str> {
        self.name_at(self.asn_position(number)?)
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
