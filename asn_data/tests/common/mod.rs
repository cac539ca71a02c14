//! Reading ip-location-db source rows and deciding, from the rows alone, which AS an
//! address belongs to. Deliberately independent of the crate's builder.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Line number in the source file.
    pub line: usize,
    pub start: u128,
    pub end: u128,
    pub asn: u32,
    pub organisation: String,
}

/// Parses `start,end,asn,organisation`; the organisation may be quoted with `""`
/// escapes and may contain commas.
pub fn parse_row(line: usize, text: &str) -> Row {
    let mut parts = text.splitn(4, ',');
    let mut next = |what: &str| {
        parts
            .next()
            .unwrap_or_else(|| panic!("line {line}: missing {what} in {text:?}"))
    };
    let start = next("start").parse().expect("start");
    let end = next("end").parse().expect("end");
    let asn = next("asn").parse().expect("asn");
    let raw = next("organisation");
    let organisation = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => raw.to_string(),
    };
    Row {
        line,
        start,
        end,
        asn,
        organisation,
    }
}

/// The source's answer for `address` among `candidates`: the narrowest range that holds
/// it, the earlier line on a tie (the overlap policy the table promises).
pub fn expected<'r>(
    candidates: impl IntoIterator<Item = &'r Row>,
    address: u128,
) -> Option<&'r Row> {
    candidates
        .into_iter()
        .filter(|r| r.start <= address && address <= r.end)
        .min_by_key(|r| (r.end - r.start, r.line))
}

pub fn to_ip(v6: bool, value: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(value))
    } else {
        IpAddr::V4(Ipv4Addr::from(
            u32::try_from(value).expect("IPv4 value fits in 32 bits"),
        ))
    }
}

/// The four addresses checked for each range: start, end, middle, and the one after
/// the end (if there is one in the family).
pub fn probe_points(row: &Row, v6: bool) -> Vec<u128> {
    let max = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    let mut points = vec![row.start, row.end, row.start + (row.end - row.start) / 2];
    if row.end < max {
        points.push(row.end + 1);
    }
    points
}

/// Compares the table's answer for `address` with the source's.
pub fn check(
    table: &asn_data::Table<'_>,
    v6: bool,
    address: u128,
    want: Option<&Row>,
    context: &str,
) -> Result<(), String> {
    let ip = to_ip(v6, address);
    let got = table
        .lookup(ip)
        .map(|a| (a.number, a.organisation.to_string()));
    // The builder trims whitespace around names (a few source names end in a space).
    let want = want.map(|r| (r.asn, r.organisation.trim().to_string()));
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{ip} ({context}): table says {got:?}, source says {want:?}"
        ))
    }
}
