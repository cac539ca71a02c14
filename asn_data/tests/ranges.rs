//! Range enumeration (`Table::for_each_range`, `ranges_of`, `range_containing`)
//! against the source rows: a table built from the sampled ip-location-db CSVs must
//! list exactly the maximal runs that the rows themselves give (narrowest row wins,
//! adjacent pieces of one AS joined), computed here without the crate's builder.

#![cfg(feature = "builder")]

mod common;

use std::net::IpAddr;

use asn_data::build::{build, Format, Input, Provenance};
use asn_data::{AsnRange, Table};
use common::{expected, parse_row, to_ip, Row};

fn sample_rows(text: &str) -> Vec<Row> {
    text.lines()
        .map(|l| {
            let (line, rest) = l.split_once(',').expect("line number prefix");
            parse_row(line.parse().expect("line number"), rest)
        })
        .collect()
}

fn csv(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "{},{},{},\"{}\"\n",
                r.start,
                r.end,
                r.asn,
                r.organisation.replace('"', "\"\"")
            )
        })
        .collect()
}

fn built(v4: &[Row], v6: &[Row]) -> Vec<u8> {
    let inputs = [
        Input {
            path: "sample-ipv4.csv".into(),
            bytes: csv(v4).into_bytes(),
        },
        Input {
            path: "sample-ipv6.csv".into(),
            bytes: csv(v6).into_bytes(),
        },
    ];
    let provenance = Provenance {
        source_version: "sample".into(),
        build_date: "2026-01-01".into(),
    };
    build(Format::IpLocationDb, &inputs, &provenance)
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes
}

/// The maximal (first, last, asn) runs the rows give: cut the family at every row
/// start and after every row end, answer each piece from the rows, join neighbours
/// of the same AS.
fn runs_from_rows(rows: &[Row], max: u128) -> Vec<(u128, u128, u32)> {
    let mut cuts: Vec<u128> = vec![0];
    for r in rows {
        cuts.push(r.start);
        cuts.extend(r.end.checked_add(1).filter(|&c| c <= max));
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut runs: Vec<(u128, u128, u32)> = Vec::new();
    for (i, &first) in cuts.iter().enumerate() {
        let last = cuts.get(i + 1).map_or(max, |next| next - 1);
        let Some(row) = expected(rows, first) else {
            continue;
        };
        match runs.last_mut() {
            Some(run) if run.2 == row.asn && run.1 + 1 == first => run.1 = last,
            _ => runs.push((first, last, row.asn)),
        }
    }
    runs
}

fn value(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn listed(table: &Table<'_>, v6: bool) -> Vec<(u128, u128, u32)> {
    let mut out = Vec::new();
    table.for_each_range(&mut |r: AsnRange| {
        if r.first.is_ipv6() == v6 {
            out.push((value(r.first), value(r.last), r.asn));
        }
    });
    out
}

#[test]
fn ranges_of_a_table_built_from_the_samples_are_the_rows_own_runs() {
    let v4 = sample_rows(include_str!("data/sample-ipv4.csv"));
    let v6 = sample_rows(include_str!("data/sample-ipv6.csv"));
    let bytes = built(&v4, &v6);
    let table = Table::from_bytes(&bytes).expect("the built table loads");

    for (rows, v6, max) in [(&v4, false, u128::from(u32::MAX)), (&v6, true, u128::MAX)] {
        let want = runs_from_rows(rows, max);
        let got = listed(&table, v6);
        assert!(
            want.len() > 1000,
            "too few runs in the sample: {}",
            want.len()
        );
        assert_eq!(got.len(), want.len(), "number of ranges (IPv6: {v6})");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "IPv6: {v6}");
        }
    }

    // ranges_of and range_containing agree with the same truth for one busy AS.
    let busiest = {
        let mut counts = std::collections::HashMap::<u32, usize>::new();
        for run in runs_from_rows(&v4, u128::from(u32::MAX)) {
            *counts.entry(run.2).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by_key(|&(asn, n)| (n, asn))
            .expect("runs")
            .0
    };
    let want: Vec<(u128, u128)> = runs_from_rows(&v4, u128::from(u32::MAX))
        .into_iter()
        .chain(runs_from_rows(&v6, u128::MAX))
        .filter(|r| r.2 == busiest)
        .map(|r| (r.0, r.1))
        .collect();
    let got: Vec<(u128, u128)> = table
        .ranges_of(busiest)
        .iter()
        .map(|r| (value(r.first), value(r.last)))
        .collect();
    assert_eq!(got, want, "ranges of AS{busiest}");
    for &(first, last) in &want {
        let v6 = last > u128::from(u32::MAX) || first > u128::from(u32::MAX);
        let middle = to_ip(v6, first + (last - first) / 2);
        let range = table.range_containing(middle).expect("a range holds it");
        assert_eq!((value(range.first), value(range.last)), (first, last));
    }
}

#[test]
fn baked_table_ranges_agree_with_lookups() {
    let table = asn_data::baked().expect("the baked table loads");
    let mut count = 0u64;
    let mut previous_last: Option<(bool, u128)> = None;
    table.for_each_range(&mut |r| {
        count += 1;
        let (first, last) = (value(r.first), value(r.last));
        assert!(first <= last, "{r}");
        if let Some((v6, prev)) = previous_last {
            if v6 == r.first.is_ipv6() {
                assert!(prev < first, "ranges out of order at {r}");
            }
        }
        previous_last = Some((r.first.is_ipv6(), last));
        // Spot-check one range in 97 at both ends and just outside.
        if count.is_multiple_of(97) {
            let v6 = r.first.is_ipv6();
            assert_eq!(table.lookup_number(to_ip(v6, first)), Some(r.asn), "{r}");
            assert_eq!(table.lookup_number(to_ip(v6, last)), Some(r.asn), "{r}");
            if let Some(after) = last.checked_add(1) {
                if v6 || after <= u128::from(u32::MAX) {
                    assert_ne!(table.lookup_number(to_ip(v6, after)), Some(r.asn), "{r}");
                }
            }
        }
    });
    assert!(count > 100_000, "only {count} ranges");
}

#[test]
fn known_ranges_of_known_networks() {
    let table = asn_data::baked().expect("the baked table loads");
    // Google's public resolver and Cloudflare's: both sit in a range of their AS.
    for (ip, asn) in [
        ("8.8.8.8", 15169),
        ("1.1.1.1", 13335),
        ("2606:4700:4700::1111", 13335),
    ] {
        let ip: IpAddr = ip.parse().expect("address");
        let range = table.range_containing(ip).expect("announced");
        assert_eq!(range.asn, asn);
        assert!(range.contains(ip));
        assert!(table.ranges_of(asn).contains(&range), "{range}");
    }
    assert_eq!(
        table.range_containing("10.1.2.3".parse().expect("ip")),
        None
    );
    // An IPv4-mapped IPv6 address finds the IPv4 range.
    let mapped = table
        .range_containing("::ffff:8.8.8.8".parse().expect("ip"))
        .expect("announced");
    assert!(mapped.first.is_ipv4());
}

#[test]
fn prefix_form_only_for_exact_blocks() {
    let range = |a: &str, b: &str| AsnRange {
        first: a.parse().expect("ip"),
        last: b.parse().expect("ip"),
        asn: 1,
    };
    assert_eq!(range("10.0.0.0", "10.0.0.255").to_string(), "10.0.0.0/24");
    assert_eq!(
        range("10.0.0.0", "10.0.1.127").to_string(),
        "10.0.0.0 - 10.0.1.127"
    );
    assert_eq!(range("10.0.0.128", "10.0.1.127").prefix_len(), None);
    assert_eq!(
        range("2001:db8::", "2001:db8::ffff").to_string(),
        "2001:db8::/112"
    );
    assert_eq!(range("10.0.0.0", "10.0.0.255").addresses(), 256);
}
