//! Inputs found by fuzzing `Table::from_bytes` (fuzz target `table`), kept so the
//! fix stays in place.

use asn_data::{Table, TableError};

/// A 50-byte file whose header claims a list of ~10^17 input digests: decoding
/// used to allocate for the claimed length up front and abort the process.
#[test]
fn a_huge_length_prefix_is_a_decode_error_not_an_allocation() {
    let bytes: &[u8] = b"VPNRASN\x00\x01\x0eip-|oc]tio\x01\x01\x00\x00\x00\x00\xfc\xf4n-db\x01\x00\x00\x00\x004.csv\xe1\x7f\xdcu\x959\xff\xff";
    match Table::from_bytes(bytes) {
        Err(TableError::Decode(why)) => assert!(!why.is_empty()),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// Every length prefix of the header claiming the most it can encode.
#[test]
fn maximal_length_prefixes_are_rejected() {
    // magic, version 1, then a string length of u64::MAX (varint 0xFD + 8 bytes).
    let mut bytes = b"VPNRASN\x00\x01".to_vec();
    bytes.push(0xfd);
    bytes.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(Table::from_bytes(&bytes).is_err());
    // Three empty strings, then a digest count of u64::MAX.
    let mut bytes = b"VPNRASN\x00\x01\x00\x00\x00".to_vec();
    bytes.push(0xfd);
    bytes.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(Table::from_bytes(&bytes).is_err());
}
