//! Full parity with the source: every range of the ip-location-db CSVs the table was
//! built from, probed at start, end, middle and end + 1. Runs when
//! `VPNRECON_ASN_SOURCE` names the directory holding `asn-ipv4-num.csv` and
//! `asn-ipv6-num.csv`, e.g.
//!
//! ```text
//! VPNRECON_ASN_SOURCE=/tmp/npm/package cargo test -p asn-data --release --test source_parity
//! ```
//!
//! Without it the tests are ignored (`cargo test` lists them as ignored); run them
//! with `--ignored` and the variable set.

mod common;

use common::{check, expected, parse_row, probe_points, Row};

fn source_dir() -> Option<String> {
    let dir = std::env::var("VPNRECON_ASN_SOURCE").ok();
    assert!(
        dir.is_some(),
        "set VPNRECON_ASN_SOURCE to the directory holding asn-ipv4-num.csv and asn-ipv6-num.csv"
    );
    dir
}

fn parity(family: &str, v6: bool) {
    let Some(dir) = source_dir() else { return };
    let path = format!("{dir}/asn-{family}-num.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let table = asn_data::baked().expect("the baked table loads");

    let mut rows: Vec<Row> = text
        .lines()
        .enumerate()
        .map(|(i, l)| parse_row(i + 1, l))
        .collect();
    rows.sort_by_key(|r| (r.start, r.line));
    // Largest end among rows up to each position: lets the search below stop scanning
    // back once no earlier row can reach an address.
    let reach: Vec<u128> = rows
        .iter()
        .scan(0u128, |m, r| {
            *m = (*m).max(r.end);
            Some(*m)
        })
        .collect();
    let (rows, reach) = (&rows, &reach);
    let holders = |address: u128| {
        let last = rows.partition_point(|r| r.start <= address);
        (0..last)
            .rev()
            .take_while(move |&i| reach[i] >= address)
            .map(|i| &rows[i])
    };

    let mut failures = Vec::new();
    for row in rows {
        for point in probe_points(row, v6) {
            let want = expected(holders(point), point);
            if let Err(e) = check(table, v6, point, want, &format!("{path}:{}", row.line)) {
                failures.push(e);
            }
        }
    }
    eprintln!(
        "{path}: {} ranges probed, {} mismatches",
        rows.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "first mismatches: {:#?}",
        &failures[..failures.len().min(10)]
    );
}

#[test]
#[ignore = "needs VPNRECON_ASN_SOURCE (the ip-location-db CSVs)"]
fn every_ipv4_source_range_matches() {
    parity("ipv4", false);
}

#[test]
#[ignore = "needs VPNRECON_ASN_SOURCE (the ip-location-db CSVs)"]
fn every_ipv6_source_range_matches() {
    parity("ipv6", true);
}
