//! `Table::from_bytes` rejects truncated and foreign bytes with an error, and lookups in
//! a table whose arrays were damaged answer without panicking.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use asn_data::{Table, TableError};

const BAKED: &[u8] = include_bytes!("../data/asn_table.bin");

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn probe(table: &Table<'_>, rng: &mut Rng) {
    for _ in 0..200 {
        let r = rng.next();
        let _ = table.lookup(IpAddr::V4(Ipv4Addr::from(r as u32)));
        let wide = (u128::from(r) << 64) | u128::from(rng.next());
        let _ = table.lookup(IpAddr::V6(Ipv6Addr::from(wide)));
        let _ = table.has_asn(r as u32);
        let _ = table.organisation(r as u32);
    }
}

#[test]
fn the_committed_table_loads() {
    assert!(Table::from_bytes(BAKED).is_ok());
}

#[test]
fn empty_and_foreign_bytes_are_not_a_table() {
    assert_eq!(Table::from_bytes(&[]).err(), Some(TableError::NotATable));
    assert_eq!(
        Table::from_bytes(b"start,end,asn\n").err(),
        Some(TableError::NotATable)
    );
}

#[test]
fn every_truncation_is_an_error() {
    let mut lengths: Vec<usize> = (0..512).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    lengths.extend((0..300).map(|_| (rng.next() % BAKED.len() as u64) as usize));
    lengths.push(BAKED.len() - 1);
    for len in lengths {
        assert!(
            Table::from_bytes(&BAKED[..len]).is_err(),
            "truncated to {len} bytes"
        );
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut longer = BAKED.to_vec();
    longer.push(0);
    assert!(Table::from_bytes(&longer).is_err());
}

#[test]
fn other_format_versions_are_refused() {
    let mut other = BAKED.to_vec();
    other[8] = other[8].wrapping_add(1); // the version follows the 8 magic bytes
    assert!(matches!(
        Table::from_bytes(&other),
        Err(TableError::UnsupportedVersion { .. })
    ));
}

#[test]
fn garbage_after_the_magic_never_panics() {
    let mut rng = Rng(42);
    for len in [9usize, 16, 64, 1024, 70_000] {
        for _ in 0..20 {
            let mut bytes = b"VPNRASN\0\x01".to_vec();
            bytes.extend((0..len).map(|_| rng.next() as u8));
            if let Ok(table) = Table::from_bytes(&bytes) {
                probe(&table, &mut rng);
            }
        }
    }
}

#[test]
fn damaged_arrays_never_panic() {
    let mut rng = Rng(7);
    for _ in 0..40 {
        let mut bytes = BAKED.to_vec();
        for _ in 0..64 {
            let at = (rng.next() % bytes.len() as u64) as usize;
            bytes[at] = rng.next() as u8;
        }
        if let Ok(table) = Table::from_bytes(&bytes) {
            probe(&table, &mut rng);
        }
    }
}
