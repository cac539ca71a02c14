//! Well-known addresses whose operators are public knowledge.

use asn_data::{baked, parse_ip};

fn asn_of(text: &str) -> Option<u32> {
    let table = baked().expect("the baked table loads");
    table
        .lookup(parse_ip(text).expect("test input is an IP"))
        .map(|a| a.number)
}

#[test]
fn public_resolvers() {
    assert_eq!(asn_of("8.8.8.8"), Some(15169)); // Google
    assert_eq!(asn_of("1.1.1.1"), Some(13335)); // Cloudflare
    assert_eq!(asn_of("2001:4860:4860::8888"), Some(15169));
    assert_eq!(asn_of("2606:4700:4700::1111"), Some(13335));
}

#[test]
fn ipv4_mapped_ipv6_resolves_as_ipv4() {
    assert_eq!(asn_of("::ffff:8.8.8.8"), Some(15169));
    assert_eq!(asn_of("::ffff:1.1.1.1"), Some(13335));
}

#[test]
fn private_loopback_and_reserved_have_no_asn() {
    for ip in [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "0.0.0.0",
        "169.254.169.254",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "::ffff:10.0.0.1",
    ] {
        assert_eq!(asn_of(ip), None, "{ip}");
    }
}

#[test]
fn organisation_names_come_with_the_number() {
    let table = baked().expect("the baked table loads");
    let google = table
        .lookup(parse_ip("8.8.8.8").expect("ip"))
        .expect("known");
    assert_eq!(google.organisation, "Google LLC");
    assert_eq!(table.organisation(15169), Some("Google LLC"));
    assert!(table.has_asn(13335));
    assert!(!table.has_asn(64512)); // private-use AS number
    assert_eq!(table.organisation(64512), None);
}

#[test]
fn parse_ip_rejects_service_names() {
    assert!(parse_ip("ec2.amazonaws.com").is_err());
    assert!(parse_ip("AWS Internal").is_err());
    assert!(parse_ip("").is_err());
    assert!(parse_ip("1.2.3").is_err());
    assert_eq!(
        parse_ip(" 8.8.8.8 ").map(|ip| ip.to_string()),
        Ok("8.8.8.8".to_string())
    );
}

#[test]
fn header_describes_the_source() {
    let h = baked().expect("the baked table loads").header();
    assert_eq!(h.source, "ip-location-db");
    assert_eq!(h.source_version, "2.3.2026061719");
    assert_eq!(h.inputs.len(), 2);
    assert_eq!(h.v4.ranges_read, 411_961);
    assert_eq!(h.v6.ranges_read, 103_197);
    assert_eq!(h.v4.overlaps_resolved, 1);
}

#[test]
fn the_one_source_overlap_goes_to_the_narrower_range() {
    // Source rows: 214.95.0.0-215.0.255.255 AS749 and 215.0.0.0-215.1.3.255 AS721.
    assert_eq!(asn_of("214.95.0.0"), Some(749));
    assert_eq!(asn_of("214.255.255.255"), Some(749));
    assert_eq!(asn_of("215.0.0.0"), Some(721));
    assert_eq!(asn_of("215.0.255.255"), Some(721));
    assert_eq!(asn_of("215.1.3.255"), Some(721));
}
