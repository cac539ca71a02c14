//! Ground truth from the source CSV: a fixed random sample of ip-location-db rows
//! (tests/data/sample-*.csv, made by tests/data/make_samples.py) against the baked
//! table. Each sampled row comes with its source neighbours, so the expected answer at
//! the end of a range and just after it is known from the source itself.
//!
//! Limit: a range that overlaps a row from further away than its direct neighbour is
//! invisible here; the full-parity test (tests/source_parity.rs) covers that.

mod common;

use std::collections::BTreeMap;

use common::{check, expected, parse_row, probe_points, Row};

fn run(file: &str, text: &str, v6: bool) -> usize {
    let table = asn_data::baked().expect("the baked table loads");
    let rows: BTreeMap<usize, Row> = text
        .lines()
        .map(|l| {
            let (line, rest) = l.split_once(',').expect("line number prefix");
            let line: usize = line.parse().expect("line number");
            (line, parse_row(line, rest))
        })
        .collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (&line, row) in &rows {
        let prev = line.checked_sub(1).and_then(|l| rows.get(&l));
        let Some(next) = rows.get(&(line + 1)) else {
            continue; // a neighbour kept for context, not a sampled row
        };
        if prev.is_none() && line != 1 {
            continue;
        }
        // The sample relies on the source being sorted by start.
        assert!(
            prev.is_none_or(|p| p.start <= row.start),
            "{file}:{line}: source not sorted"
        );
        assert!(row.start <= next.start, "{file}:{line}: source not sorted");
        let known: Vec<&Row> = prev.into_iter().chain([row, next]).collect();
        for point in probe_points(row, v6) {
            let want = expected(known.iter().copied(), point);
            if let Err(e) = check(table, v6, point, want, &format!("{file}:{line}")) {
                failures.push(e);
            }
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} mismatches, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    checked
}

#[test]
fn sampled_ipv4_rows_match_the_source() {
    let checked = run(
        "sample-ipv4.csv",
        include_str!("data/sample-ipv4.csv"),
        false,
    );
    assert!(
        checked >= 1400,
        "only {checked} sampled rows had both neighbours"
    );
}

#[test]
fn sampled_ipv6_rows_match_the_source() {
    let checked = run(
        "sample-ipv6.csv",
        include_str!("data/sample-ipv6.csv"),
        true,
    );
    assert!(
        checked >= 1400,
        "only {checked} sampled rows had both neighbours"
    );
}
