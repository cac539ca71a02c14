//! `asn_data::Table::from_bytes` then lookups: arbitrary bytes (first byte even),
//! or a valid small table with fuzzer-chosen bytes overwritten and a possible cut
//! (first byte odd), so the checks past the header are reached.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use asn_data::Table;
use libfuzzer_sys::fuzz_target;

const V4: &str = "1.0.0.0,1.0.0.255,13335,Cloudflare Inc
2.56.16.0,2.56.19.255,9009,M247 Europe SRL
8.8.8.0,8.8.8.255,15169,Google LLC
146.70.0.0,146.70.255.255,9009,M247 Europe SRL
203.0.113.0,203.0.113.255,64500,\"Example, \"\"quoted\"\" Org\"
";
const V6: &str = "2001:db8::,2001:db8::ffff,64501,Doc Net
2a0d:5600::,2a0d:5600:ffff:ffff:ffff:ffff:ffff:ffff,9009,M247 Europe SRL
";

fn small_table() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        use asn_data::build::{build, Format, Input, Provenance};
        let inputs = [
            Input {
                path: "v4.csv".into(),
                bytes: V4.as_bytes().to_vec(),
            },
            Input {
                path: "v6.csv".into(),
                bytes: V6.as_bytes().to_vec(),
            },
        ];
        let provenance = Provenance {
            source_version: "fuzz".into(),
            build_date: "2026-01-01".into(),
        };
        build(Format::IpLocationDb, &inputs, &provenance)
            .expect("the seed table builds")
            .bytes
    })
}

fn probe(table: &Table<'_>, extra: &[u8]) {
    let _ = table.header();
    let mut ips: Vec<IpAddr> = [
        "0.0.0.0",
        "1.0.0.1",
        "2.56.16.10",
        "8.8.8.8",
        "146.70.117.42",
        "203.0.113.9",
        "255.255.255.255",
        "::",
        "::ffff:2.56.16.10",
        "2001:db8::1",
        "2a0d:5600::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect();
    for chunk in extra.chunks(16).take(8) {
        let mut b = [0u8; 16];
        b[..chunk.len()].copy_from_slice(chunk);
        ips.push(IpAddr::V6(Ipv6Addr::from(b)));
        ips.push(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])));
    }
    for ip in ips {
        if let Some(asn) = table.lookup(ip) {
            let _ = table.has_asn(asn.number);
            let _ = table.organisation(asn.number);
        }
    }
    for n in [0, 9009, 13335, 64500, u32::MAX] {
        let _ = table.has_asn(n);
        let _ = table.organisation(n);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        if let Ok(table) = Table::from_bytes(rest) {
            probe(&table, rest);
        }
        return;
    }
    // Patches: (u16 position, u8 value); a position with the top bit set counts
    // from the end, where the IPv6 directory and the names live. The selector's
    // upper bits, when set, cut the table short.
    let mut bytes = small_table().to_vec();
    let len = bytes.len();
    for patch in rest.chunks_exact(3).take(32) {
        let raw = u16::from_le_bytes([patch[0], patch[1]]);
        let offset = usize::from(raw & 0x7fff) % len;
        let at = if raw & 0x8000 != 0 {
            len - 1 - offset
        } else {
            offset
        };
        bytes[at] = patch[2];
    }
    if selector & 0x80 != 0 {
        let cut = usize::from(selector & 0x7e) * 4;
        bytes.truncate(len.saturating_sub(cut));
    }
    if let Ok(table) = Table::from_bytes(&bytes) {
        probe(&table, rest);
    }
});
