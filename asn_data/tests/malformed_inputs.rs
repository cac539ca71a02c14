//! Every malformed input line stops the build with `file:line: reason`.

#![cfg(feature = "builder")]

use asn_data::build::{build, Format, Input, Provenance};

fn build_error(format: Format, path: &str, text: &str) -> String {
    let inputs = [Input {
        path: path.to_string(),
        bytes: text.as_bytes().to_vec(),
    }];
    let provenance = Provenance {
        source_version: "test".into(),
        build_date: "2026-01-01".into(),
    };
    match build(format, &inputs, &provenance) {
        Ok(_) => panic!("{path}: malformed input was accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn assert_error(format: Format, path: &str, text: &str, line: usize, reason_part: &str) {
    let message = build_error(format, path, text);
    let prefix = format!("{path}:{line}: ");
    assert!(
        message.starts_with(&prefix),
        "{message:?} should start with {prefix:?}"
    );
    assert!(
        message.contains(reason_part),
        "{message:?} should mention {reason_part:?}"
    );
}

const GOOD_V4: &str = "16777216,16777471,13335,\"Cloudflare, Inc.\"\n";

#[test]
fn ip_location_db() {
    let f = Format::IpLocationDb;
    let file = "asn-ipv4-num.csv";
    let bad = |line: &str| format!("{GOOD_V4}{line}\n");
    assert_error(f, file, &bad("1,2,3"), 2, "expected 4 fields");
    assert_error(
        f,
        file,
        &bad("x,2,3,Org"),
        2,
        "start `x` is not an unsigned integer",
    );
    assert_error(f, file, &bad("5,4,3,Org"), 2, "start is after its end");
    assert_error(f, file, &bad("1,2,AS-x,Org"), 2, "AS number `AS-x`");
    assert_error(
        f,
        file,
        &bad("1,4294967296,3,Org"),
        2,
        "larger than any IPv4 address",
    );
    assert_error(f, file, &bad("1,2,3,\"Org"), 2, "unterminated quoted field");
    assert_error(
        f,
        file,
        &bad("1,2,3,\"Org\"x"),
        2,
        "text after a closing quote",
    );
    assert_error(f, "asn.csv", GOOD_V4, 1, "neither ipv4 nor ipv6");
    // Dotted variant: the family comes from the addresses.
    assert_error(
        f,
        "asn.csv",
        "1.0.0.0,::ff,5,Org\n",
        1,
        "different address families",
    );
    assert_error(
        f,
        "asn.csv",
        "1.0.0.0,1.0.0.300,5,Org\n",
        1,
        "end `1.0.0.300` is not an IP address",
    );
}

#[test]
fn iptoasn() {
    let f = Format::Iptoasn;
    let file = "ip2asn-combined.tsv";
    let good = "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n";
    assert_error(
        f,
        file,
        &format!("{good}1.0.1.0\t1.0.1.255\t5\tUS\n"),
        2,
        "expected 5 tab-separated fields",
    );
    assert_error(
        f,
        file,
        &format!("{good}1.0.1.0\tnope\t5\tUS\tX\n"),
        2,
        "end `nope` is not an IP address",
    );
    assert_error(
        f,
        file,
        &format!("{good}\n1.0.2.0\t1.0.1.0\t5\tUS\tX\n"),
        3,
        "start is after its end",
    );
    assert_error(
        f,
        file,
        &format!("{good}1.0.1.0\t1.0.1.255\t-1\tUS\tX\n"),
        2,
        "AS number `-1`",
    );
}

#[test]
fn maxmind_csv() {
    let f = Format::MaxmindCsv;
    let file = "GeoLite2-ASN-Blocks-IPv4.csv";
    let header = "network,autonomous_system_number,autonomous_system_organization\n";
    assert_error(
        f,
        file,
        "1.0.0.0/24,13335,X\n",
        1,
        "expected the header row",
    );
    assert_error(
        f,
        file,
        &format!("{header}1.0.0.0/33,13335,X\n"),
        2,
        "`1.0.0.0/33` is not a CIDR network",
    );
    assert_error(
        f,
        file,
        &format!("{header}1.0.0.0/24,13335\n"),
        2,
        "expected 3 fields",
    );
    assert_error(
        f,
        file,
        &format!("{header}1.0.0.0/24,big,X\n"),
        2,
        "AS number `big`",
    );
}

#[test]
fn build_date_must_be_a_date() {
    let inputs = [Input {
        path: "asn-ipv4-num.csv".into(),
        bytes: GOOD_V4.as_bytes().to_vec(),
    }];
    let provenance = Provenance {
        source_version: "test".into(),
        build_date: "yesterday".into(),
    };
    let message = build(Format::IpLocationDb, &inputs, &provenance)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        message.as_deref(),
        Some("--build-date: `yesterday` is not a date of the form YYYY-MM-DD")
    );
}
