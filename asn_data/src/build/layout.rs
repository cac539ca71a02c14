//! Packs resolved boundaries into the byte blobs of `format::Body`.

use std::collections::BTreeSet;

use super::resolve::value_at;
use crate::format::{V4_BUCKETS, V6_LOW_BITS};

/// Byte blobs of one table, before encoding.
#[derive(Debug, Default)]
pub struct Blobs {
    pub v4_buckets: Vec<u8>,
    pub v4_lows: Vec<u8>,
    pub v4_asn: Vec<u8>,
    pub v6_keys: Vec<u8>,
    pub v6_first: Vec<u8>,
    pub v6_lows: Vec<u8>,
    pub v6_asn: Vec<u8>,
    pub v6_exact_starts: Vec<u8>,
    pub v6_exact_asn: Vec<u8>,
    pub asn_numbers: Vec<u8>,
    pub asn_name_offsets: Vec<u8>,
    pub names: Vec<u8>,
    pub v4_entries: u64,
    pub v6_entries: u64,
    pub v6_exceptions: u64,
    pub names_truncated: u64,
}

fn push_le(out: &mut Vec<u8>, value: u128, width: usize) {
    out.extend(value.to_le_bytes().iter().take(width));
}

/// Maps AS numbers to the 1-based index stored per entry (0 = no AS).
pub struct AsnIndex(Vec<u32>);

impl AsnIndex {
    pub fn new(numbers: BTreeSet<u32>) -> AsnIndex {
        AsnIndex(numbers.into_iter().collect())
    }

    fn index(&self, asn: u32) -> u128 {
        if asn == 0 {
            return 0;
        }
        // Every AS of the boundaries is in the set by construction.
        self.0.binary_search(&asn).map_or(0, |i| i as u128 + 1)
    }

    pub fn numbers(&self) -> &[u32] {
        &self.0
    }
}

/// IPv4: a bucket per top-16-bit value pointing at its first entry, the low 16 bits of
/// each start, and the u24 ASN index of each entry.
pub fn pack_v4(blobs: &mut Blobs, boundaries: &[(u128, u32)], asns: &AsnIndex) {
    let mut next_bucket = 0usize;
    for (i, &(start, asn)) in boundaries.iter().enumerate() {
        let bucket = (start >> 16) as usize;
        while next_bucket <= bucket {
            push_le(&mut blobs.v4_buckets, i as u128, 4);
            next_bucket += 1;
        }
        push_le(&mut blobs.v4_lows, start & 0xffff, 2);
        push_le(&mut blobs.v4_asn, asns.index(asn), 3);
    }
    while next_bucket < V4_BUCKETS {
        push_le(&mut blobs.v4_buckets, boundaries.len() as u128, 4);
        next_bucket += 1;
    }
    blobs.v4_entries = boundaries.len() as u64;
}

/// IPv6: boundaries on /64 block starts go to the main arrays (by block number); /64
/// blocks holding any other boundary are described exactly in the exception arrays, and
/// the main arrays get an entry right after each such block with the AS in effect there.
pub fn pack_v6(blobs: &mut Blobs, boundaries: &[(u128, u32)], asns: &AsnIndex) {
    let low64 = |a: u128| a & u128::from(u64::MAX);
    let exceptional: BTreeSet<u64> = boundaries
        .iter()
        .filter(|&&(start, _)| low64(start) != 0)
        .map(|&(start, _)| (start >> 64) as u64)
        .collect();

    for &block in &exceptional {
        let block_start = u128::from(block) << 64;
        push_exact(
            blobs,
            block_start,
            asns.index(value_at(boundaries, block_start)),
        );
        for &(start, asn) in boundaries
            .iter()
            .filter(|&&(start, _)| (start >> 64) as u64 == block && start != block_start)
        {
            push_exact(blobs, start, asns.index(asn));
        }
    }

    let mut main: Vec<(u64, u32)> = boundaries
        .iter()
        .filter(|&&(start, _)| low64(start) == 0)
        .map(|&(start, asn)| ((start >> 64) as u64, asn))
        .collect();
    for &block in &exceptional {
        if let Some(next) = block.checked_add(1) {
            main.push((next, value_at(boundaries, u128::from(next) << 64)));
        }
    }
    main.sort_unstable();
    main.dedup_by_key(|&mut (block, _)| block);
    // An entry repeating the AS before it changes no answer.
    main.dedup_by_key(|&mut (_, asn)| asn);

    let low_mask = (1u64 << V6_LOW_BITS) - 1;
    let mut last_key = None;
    for (i, &(block, asn)) in main.iter().enumerate() {
        let key = block >> V6_LOW_BITS;
        if last_key != Some(key) {
            push_le(&mut blobs.v6_keys, u128::from(key), 4);
            push_le(&mut blobs.v6_first, i as u128, 4);
            last_key = Some(key);
        }
        push_le(&mut blobs.v6_lows, u128::from(block & low_mask), 5);
        push_le(&mut blobs.v6_asn, asns.index(asn), 3);
    }
    push_le(&mut blobs.v6_first, main.len() as u128, 4);
    blobs.v6_entries = main.len() as u64;
}

fn push_exact(blobs: &mut Blobs, start: u128, index: u128) {
    push_le(&mut blobs.v6_exact_starts, start, 16);
    push_le(&mut blobs.v6_exact_asn, index, 3);
    blobs.v6_exceptions += 1;
}

/// The AS table: numbers ascending, each with the offset of its name in a blob where
/// every distinct name is stored once as one length byte and the UTF-8 bytes.
pub fn pack_asns(blobs: &mut Blobs, asns: &AsnIndex, name_of: impl Fn(u32) -> String) {
    let mut offsets = std::collections::HashMap::<String, usize>::new();
    for &number in asns.numbers() {
        let name = truncate(name_of(number), &mut blobs.names_truncated);
        let offset = match offsets.get(&name) {
            Some(&offset) => offset,
            None => {
                let offset = blobs.names.len();
                blobs.names.push(name.len() as u8);
                blobs.names.extend_from_slice(name.as_bytes());
                offsets.insert(name, offset);
                offset
            }
        };
        push_le(&mut blobs.asn_numbers, u128::from(number), 4);
        push_le(&mut blobs.asn_name_offsets, offset as u128, 4);
    }
}

/// Names longer than one length byte allows are cut at a character boundary.
fn truncate(mut name: String, truncated: &mut u64) -> String {
    if name.len() > usize::from(u8::MAX) {
        let mut cut = usize::from(u8::MAX);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        *truncated += 1;
    }
    name
}
