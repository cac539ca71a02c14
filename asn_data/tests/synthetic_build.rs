//! Builds tables from generated inputs with overlaps, gaps and IPv6 boundaries inside
//! /64 blocks, and checks every interesting address against a brute-force reading of
//! the generated ranges (narrowest range wins, first listed on a tie).

#![cfg(feature = "builder")]

mod common;

use asn_data::build::{build, Format, Input, Provenance};
use asn_data::Table;
use common::{check, expected, Row};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn built(format: Format, path: &str, text: &str) -> Vec<u8> {
    let inputs = [Input {
        path: path.into(),
        bytes: text.as_bytes().to_vec(),
    }];
    let provenance = Provenance {
        source_version: "synthetic".into(),
        build_date: "2026-01-01".into(),
    };
    match build(format, &inputs, &provenance) {
        Ok(b) => b.bytes,
        Err(e) => panic!("{e}"),
    }
}

fn to_csv(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "{},{},{},\"AS {} \"\"org\"\"\"\n",
                r.start, r.end, r.asn, r.asn
            )
        })
        .collect()
}

fn verify(rows: &[Row], table: &Table<'_>, v6: bool) {
    let max = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    let mut points = vec![0, max];
    for r in rows {
        points.extend([r.start, r.end, r.start + (r.end - r.start) / 2]);
        points.extend(r.start.checked_sub(1));
        points.extend(r.end.checked_add(1).filter(|&p| p <= max));
        if v6 {
            // The /64 blocks around each boundary: the lookup treats them specially.
            let block = |a: u128| a & !u128::from(u64::MAX);
            points.extend([block(r.start), block(r.start) | u128::from(u64::MAX)]);
            points.extend(block(r.end).checked_add(1 << 64));
        }
    }
    let mut failures = Vec::new();
    for p in points {
        let want = expected(rows, p).map(|r| Row {
            organisation: format!("AS {} \"org\"", r.asn),
            ..r.clone()
        });
        if let Err(e) = check(table, v6, p, want.as_ref(), "generated") {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{:#?}",
        &failures[..failures.len().min(10)]
    );
}

fn generated_v6(rng: &mut Rng) -> Vec<Row> {
    let base: u128 = 0x2001_0db8_0000_0000 << 64;
    (0..400)
        .map(|line| {
            let block = base + (u128::from(rng.below(12)) << 64);
            let start = match rng.below(3) {
                0 => block,
                1 => block + u128::from(rng.next()),
                _ => block + u128::from(rng.below(1 << 16)),
            };
            let len = match rng.below(3) {
                0 => u128::from(rng.below(1 << 20)),
                1 => (u128::from(rng.below(3)) << 64) + u128::from(u64::MAX),
                _ => u128::from(rng.next()),
            };
            Row {
                line: line + 1,
                start,
                end: start + len,
                asn: 1 + rng.below(9) as u32,
                organisation: String::new(),
            }
        })
        .collect()
}

fn generated_v4(rng: &mut Rng) -> Vec<Row> {
    (0..400)
        .map(|line| {
            let start = u128::from(0x0a00_0000 + rng.below(1 << 20) as u32);
            let len = if rng.below(4) == 0 {
                u128::from(rng.below(1 << 18))
            } else {
                u128::from(rng.below(300))
            };
            Row {
                line: line + 1,
                start,
                end: start + len,
                asn: 1 + rng.below(9) as u32,
                organisation: String::new(),
            }
        })
        .collect()
}

#[test]
fn generated_ipv6_ranges_resolve_like_the_brute_force() {
    let mut rng = Rng(0x5eed_0006);
    for _ in 0..5 {
        let rows = generated_v6(&mut rng);
        let bytes = built(Format::IpLocationDb, "gen-ipv6-num.csv", &to_csv(&rows));
        let table = Table::from_bytes(&bytes).expect("built table loads");
        assert!(
            table.header().v6.exceptions > 0,
            "the generator should produce unaligned ranges"
        );
        verify(&rows, &table, true);
    }
}

#[test]
fn generated_ipv4_ranges_resolve_like_the_brute_force() {
    let mut rng = Rng(0x5eed_0004);
    for _ in 0..5 {
        let rows = generated_v4(&mut rng);
        let bytes = built(Format::IpLocationDb, "gen-ipv4-num.csv", &to_csv(&rows));
        let table = Table::from_bytes(&bytes).expect("built table loads");
        assert!(table.header().v4.overlaps_resolved > 0);
        verify(&rows, &table, false);
    }
}

#[test]
fn rebuilding_gives_identical_bytes() {
    let rows = generated_v6(&mut Rng(99));
    let text = to_csv(&rows);
    assert_eq!(
        built(Format::IpLocationDb, "gen-ipv6-num.csv", &text),
        built(Format::IpLocationDb, "gen-ipv6-num.csv", &text)
    );
}

fn lookup(table: &Table<'_>, ip: &str) -> Option<(u32, String)> {
    table
        .lookup(asn_data::parse_ip(ip).expect("ip"))
        .map(|a| (a.number, a.organisation.to_string()))
}

#[test]
fn iptoasn_tsv() {
    let text = "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n\
                1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n\
                2001:200::\t2001:200:ffff:ffff:ffff:ffff:ffff:ffff\t2500\tJP\tWIDE-BB WIDE Project\n";
    let bytes = built(Format::Iptoasn, "ip2asn-combined.tsv", text);
    let table = Table::from_bytes(&bytes).expect("loads");
    assert_eq!(
        lookup(&table, "1.0.0.7"),
        Some((13335, "CLOUDFLARENET".into()))
    );
    assert_eq!(lookup(&table, "1.0.2.1"), None); // AS 0: not routed
    assert_eq!(
        lookup(&table, "2001:200:1::1"),
        Some((2500, "WIDE-BB WIDE Project".into()))
    );
    assert_eq!(lookup(&table, "2001:201::1"), None);
}

#[test]
fn maxmind_csv() {
    let text = "network,autonomous_system_number,autonomous_system_organization\n\
                1.0.0.0/24,13335,CLOUDFLARENET\n\
                1.0.4.0/22,38803,\"Gtelecom Pty Ltd\"\n\
                2001:4860::/32,15169,GOOGLE\n";
    let bytes = built(Format::MaxmindCsv, "GeoLite2-ASN-Blocks.csv", text);
    let table = Table::from_bytes(&bytes).expect("loads");
    assert_eq!(
        lookup(&table, "1.0.0.255"),
        Some((13335, "CLOUDFLARENET".into()))
    );
    assert_eq!(
        lookup(&table, "1.0.7.255"),
        Some((38803, "Gtelecom Pty Ltd".into()))
    );
    assert_eq!(lookup(&table, "1.0.8.0"), None);
    assert_eq!(
        lookup(&table, "2001:4860:4860::8888"),
        Some((15169, "GOOGLE".into()))
    );
}
