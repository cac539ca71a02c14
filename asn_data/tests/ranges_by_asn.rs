//! `Table::all_ranges` against the source: for every sampled ip-location-db row (with its
//! source neighbours, so the answer just past each end is known from the source
//! alone), the enumerated range holding a probe point names the AS the source gives
//! for that point, and no enumerated range holds a point the source gives no AS.
//! Then the contract's VPN ASNs: every enumerated range is maximal in the table.

mod common;

use std::collections::BTreeMap;

use asn_data::AddressRange;
use common::{expected, parse_row, probe_points, to_ip, Row};

/// The enumerated range (of any AS) holding `address`, by binary search.
fn holder(ranges: &[AddressRange], v6: bool, address: u128) -> Option<&AddressRange> {
    let after = ranges.partition_point(|r| (r.v6, r.first) <= (v6, address));
    let candidate = ranges.get(after.checked_sub(1)?)?;
    (candidate.v6 == v6 && candidate.contains(address)).then_some(candidate)
}

fn run(file: &str, text: &str, v6: bool, ranges: &[AddressRange]) -> usize {
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
            continue;
        };
        if prev.is_none() && line != 1 {
            continue;
        }
        let known: Vec<&Row> = prev.into_iter().chain([row, next]).collect();
        for point in probe_points(row, v6) {
            let want = expected(known.iter().copied(), point).map(|r| r.asn);
            let got = holder(ranges, v6, point).map(|r| r.asn);
            if got != want {
                failures.push(format!(
                    "{} ({file}:{line}): enumerated AS {got:?}, source AS {want:?}",
                    to_ip(v6, point)
                ));
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
fn enumerated_ranges_agree_with_sampled_source_rows() {
    let table = asn_data::baked().expect("the baked table loads");
    let ranges = table.all_ranges();
    assert!(
        ranges
            .windows(2)
            .all(|w| (w[0].v6, w[0].last) < (w[1].v6, w[1].first)),
        "ranges are ascending and disjoint within each family"
    );
    let v4 = run(
        "sample-ipv4.csv",
        include_str!("data/sample-ipv4.csv"),
        false,
        &ranges,
    );
    let v6 = run(
        "sample-ipv6.csv",
        include_str!("data/sample-ipv6.csv"),
        true,
        &ranges,
    );
    assert!(
        v4 >= 1400 && v6 >= 1400,
        "checked {v4} IPv4 and {v6} IPv6 rows"
    );
}

/// The contract's VPN ASNs (detection contract, rule A).
const VPN_ASNS: [u32; 22] = [
    216025, 57138, 207137, 212238, 199218, 209103, 209854, 141039, 147049, 53314, 60068, 9009,
    20473, 63949, 39351, 51765, 204187, 29066, 206092, 208172, 9002, 49981,
];

#[test]
fn vpn_asn_ranges_are_maximal_in_the_table() {
    let table = asn_data::baked().expect("the baked table loads");
    let ranges = table.ranges_held_by(&VPN_ASNS);
    assert!(ranges.len() > 100, "only {} ranges", ranges.len());
    // An AS the table knows holds at least one range; one it does not know, none.
    for asn in VPN_ASNS {
        assert_eq!(
            ranges.iter().any(|r| r.asn == asn),
            table.has_asn(asn),
            "AS{asn}"
        );
    }
    let lookup = |v6: bool, a: u128| table.lookup(to_ip(v6, a)).map(|x| x.number);
    let family_last = |v6: bool| if v6 { u128::MAX } else { u128::from(u32::MAX) };
    for r in &ranges {
        assert!(VPN_ASNS.contains(&r.asn));
        let mid = r.first + (r.last - r.first) / 2;
        for point in [r.first, mid, r.last] {
            assert_eq!(lookup(r.v6, point), Some(r.asn), "{r:?} at {point}");
        }
        if r.first > 0 {
            assert_ne!(lookup(r.v6, r.first - 1), Some(r.asn), "{r:?} starts early");
        }
        if r.last < family_last(r.v6) {
            assert_ne!(lookup(r.v6, r.last + 1), Some(r.asn), "{r:?} ends early");
        }
        // IPv4-mapped IPv6 resolves as IPv4, so a range there would never be looked up.
        assert!(!(r.v6 && (r.first >> 32) == 0xffff), "{r:?}");
    }
}
