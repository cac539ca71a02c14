//! The on-disk shape of a baked table: one bincode 2 value whose array fields are
//! borrowed byte blobs. Lookups read little-endian integers straight out of those
//! blobs, so loading never copies or allocates per range.

use bincode::{BorrowDecode, Encode};

/// First bytes of every table file.
pub const MAGIC: [u8; 8] = *b"VPNRASN\0";
/// Bumped whenever the layout below changes; readers refuse other versions.
pub const FORMAT_VERSION: u32 = 1;

/// IPv4 buckets: one per value of the top 16 address bits, plus the end marker.
pub const V4_BUCKETS: usize = (1 << 16) + 1;
/// IPv6 main entries are /64 blocks; the directory key is the block's top 24 bits and
/// each entry stores the remaining 40 bits.
pub const V6_LOW_BITS: u32 = 40;

/// Byte widths of the packed integers.
pub const W_INDEX: usize = 4; // u32 entry index / bucket start / directory key
pub const W_V4_LOW: usize = 2; // low 16 bits of an IPv4 start
pub const W_V6_LOW: usize = 5; // low 40 bits of a /64 block number
pub const W_V6_EXACT: usize = 16; // full u128 start of an exception entry
pub const W_ASN_INDEX: usize = 3; // u24 index into the ASN table, 0 = no ASN
pub const W_ASN_NUMBER: usize = 4; // u32 AS number
pub const W_NAME_OFFSET: usize = 4; // u32 offset into the name blob

/// The magic and version, decoded first so an old or foreign file gets a clear error
/// instead of a decode failure somewhere in the middle.
#[derive(Encode, BorrowDecode)]
pub struct Preamble {
    pub magic: [u8; 8],
    pub format_version: u32,
}

/// One SHA-256 per input file, in the order the files were given to the builder.
#[derive(Debug, Clone, PartialEq, Eq, Encode, BorrowDecode)]
pub struct InputDigest<'a> {
    /// File name without directories, so the digest list does not depend on where the
    /// files happened to be.
    pub name: &'a str,
    pub sha256: [u8; 32],
}

/// What the builder saw for one address family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, BorrowDecode)]
pub struct FamilyCounts {
    /// Rows read from the inputs (after skipping rows for "no AS", e.g. AS 0).
    pub ranges_read: u64,
    /// Input ranges that overlapped an already placed narrower range.
    pub overlaps_resolved: u64,
    /// Adjacent pieces with the same ASN joined into one.
    pub merged: u64,
    /// Entries that mark addresses without an ASN.
    pub gaps: u64,
    /// Entries in the lookup arrays (including gaps).
    pub entries: u64,
    /// IPv6 only: entries of the exact (non-/64-aligned) exception table.
    pub exceptions: u64,
}

/// Provenance and counts of a baked table.
#[derive(Debug, Clone, PartialEq, Eq, Encode, BorrowDecode)]
pub struct Header<'a> {
    /// Input format the table was built from: `ip-location-db`, `iptoasn` or `maxmind-csv`.
    pub source: &'a str,
    /// Version of the source data as given at build time.
    pub source_version: &'a str,
    /// Build date as given at build time (never the wall clock), `YYYY-MM-DD`.
    pub build_date: &'a str,
    pub inputs: Vec<InputDigest<'a>>,
    pub v4: FamilyCounts,
    pub v6: FamilyCounts,
    /// Distinct AS numbers in the table.
    pub asns: u64,
    /// Organisation names cut to 255 bytes.
    pub names_truncated: u64,
}

/// The whole file after the preamble.
#[derive(Encode, BorrowDecode)]
pub struct Body<'a> {
    pub header: Header<'a>,
    /// `V4_BUCKETS` × u32: index of the first entry whose start has those top 16 bits.
    pub v4_buckets: &'a [u8],
    /// n × u16: low 16 bits of each entry's start.
    pub v4_lows: &'a [u8],
    /// n × u24: ASN index of each entry.
    pub v4_asn: &'a [u8],
    /// k × u32: distinct top-24-bit keys of the /64 block numbers, ascending.
    pub v6_keys: &'a [u8],
    /// (k + 1) × u32: index of the first entry of each key, then the entry count.
    pub v6_first: &'a [u8],
    /// m × u40: low 40 bits of each entry's /64 block number.
    pub v6_lows: &'a [u8],
    /// m × u24: ASN index of each entry.
    pub v6_asn: &'a [u8],
    /// x × u128: exact starts inside /64 blocks that hold a non-aligned boundary.
    pub v6_exact_starts: &'a [u8],
    /// x × u24: ASN index of each exact entry.
    pub v6_exact_asn: &'a [u8],
    /// a × u32: AS numbers, ascending. ASN index i refers to position i - 1.
    pub asn_numbers: &'a [u8],
    /// a × u32: offset of each AS's organisation name in `names`.
    pub asn_name_offsets: &'a [u8],
    /// Names, each one byte of length then that many bytes of UTF-8, stored once.
    pub names: &'a [u8],
}

/// bincode settings shared by writer and reader.
pub fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Upper bound on what decoding one table may claim (bytes read plus the memory
/// of containers it allocates). Without a limit bincode trusts a length prefix
/// and allocates for it before reading a single element, so a corrupt file of a
/// few dozen bytes could ask for terabytes and abort the process. Tables are a
/// few MB; this leaves ample room.
pub const DECODE_LIMIT: usize = 64 << 20;

/// [`config`] with [`DECODE_LIMIT`]: the same encoding, for reading untrusted bytes.
pub fn decode_config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<DECODE_LIMIT>,
> {
    config().with_limit::<DECODE_LIMIT>()
}

/// Reads the `index`-th `W`-byte (1 to 8) little-endian unsigned integer of `blob`.
/// `None` when the blob is too short: corrupt tables answer "unknown", never panic.
#[inline(always)]
pub fn read_le<const W: usize>(blob: &[u8], index: usize) -> Option<u64> {
    let start = index.checked_mul(W)?;
    let end = start.checked_add(W)?;
    if end > blob.len() {
        return None;
    }
    // Fast path: one unaligned 8-byte load, masked to W bytes.
    if let Some(eight) = start.checked_add(8).and_then(|e| blob.get(start..e)) {
        let value = u64::from_le_bytes(eight.try_into().ok()?);
        return Some(value & (u64::MAX >> (64 - 8 * W)));
    }
    // Near the end of the blob: assemble byte by byte.
    let mut wide = [0u8; 8];
    for (dst, src) in wide.iter_mut().zip(blob.get(start..end)?) {
        *dst = *src;
    }
    Some(u64::from_le_bytes(wide))
}

/// Reads the `index`-th little-endian u128 of `blob`.
#[inline]
pub fn read_u128(blob: &[u8], index: usize) -> Option<u128> {
    let start = index.checked_mul(W_V6_EXACT)?;
    let bytes = blob.get(start..start.checked_add(W_V6_EXACT)?)?;
    let array: [u8; 16] = bytes.try_into().ok()?;
    Some(u128::from_le_bytes(array))
}

/// Number of whole `width`-byte items in `blob`, or `None` if it is not a multiple.
pub fn item_count(blob: &[u8], width: usize) -> Option<usize> {
    if blob.len().checked_rem(width) != Some(0) {
        return None;
    }
    Some(blob.len() / width)
}
