//! IP → autonomous system lookup for vpnrecon.
//!
//! The table is a bincode 2 file (see `README.md` for the layout) used in place: loading
//! checks lengths and two small indexes, lookups binary-search little-endian integers
//! directly in the file's bytes. With default features off this crate has no builder,
//! no panicking paths on input and builds for `wasm32-wasip1` and
//! `wasm32-unknown-unknown`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use core::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

#[cfg(feature = "builder")]
pub mod build;
pub mod curated;
mod format;
mod table;

pub use format::{FamilyCounts, Header, InputDigest, FORMAT_VERSION};
pub use table::{AddressRange, Asn, AsnRange, Cidr, Table, TableError};

/// The table committed at `asn_data/data/asn_table.bin`.
static BAKED_BYTES: &[u8] = include_bytes!("../data/asn_table.bin");

/// The embedded table, validated on first use. `None` only if the committed file is
/// not a valid table, which the crate's tests rule out.
pub fn baked() -> Option<&'static Table<'static>> {
    static BAKED: OnceLock<Option<Table<'static>>> = OnceLock::new();
    BAKED
        .get_or_init(|| Table::from_bytes(BAKED_BYTES).ok())
        .as_ref()
}

/// The input is not an IPv4 or IPv6 address (CloudTrail puts service names such as
/// `ec2.amazonaws.com` or `AWS Internal` in `sourceIPAddress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnIp;

impl fmt::Display for NotAnIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an IP address")
    }
}

impl std::error::Error for NotAnIp {}

/// Parses an IPv4 or IPv6 address, ignoring surrounding whitespace.
pub fn parse_ip(text: &str) -> Result<IpAddr, NotAnIp> {
    text.trim().parse().map_err(|_| NotAnIp)
}
