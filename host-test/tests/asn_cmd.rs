//! `vpnrecon asn search|show` and `lookup`'s range column, checked against the curated
//! list as written and against address lookups in the baked table (which the
//! asn_data tests check against the source data).

#![cfg(feature = "native")]

use serde_json::Value;
use std::net::IpAddr;
use std::process::Command;

fn vpnrecon(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_vpnrecon"))
        .args(args)
        .output()
        .expect("run vpnrecon");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

fn json(args: &[&str]) -> Value {
    let (stdout, stderr, ok) = vpnrecon(args);
    assert!(ok, "{args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"))
}

#[test]
fn search_finds_every_curated_entry_by_name_with_its_category() {
    let table = asn_data::baked().expect("baked table");
    let found = json(&["asn", "search", "proton", "--json"]);
    let found = found.as_array().expect("array");
    // Independent: every AS of the table whose organisation holds "proton", any case.
    let mut want: Vec<u64> = table
        .asns()
        .filter(|a| a.organisation.to_lowercase().contains("proton"))
        .map(|a| u64::from(a.number))
        .collect();
    want.sort_unstable();
    let got: Vec<u64> = found
        .iter()
        .map(|f| f["asn"].as_u64().expect("asn"))
        .collect();
    assert_eq!(got, want);
    for entry in asn_data::curated::list()
        .iter()
        .filter(|c| c.name.contains("Proton"))
    {
        let f = found
            .iter()
            .find(|f| f["asn"] == u64::from(entry.asn))
            .unwrap_or_else(|| panic!("AS{} missing", entry.asn));
        let want_category = entry.enabled.then(|| entry.category.as_str());
        assert_eq!(
            f["list"]["category"].as_str(),
            want_category,
            "AS{}",
            entry.asn
        );
    }
}

#[test]
fn show_lists_ranges_that_lookups_attribute_to_the_as() {
    let table = asn_data::baked().expect("baked table");
    let shown = json(&["asn", "show", "AS9009", "--all", "--json"]);
    assert_eq!(shown["organisation"], "M247 Europe SRL");
    assert_eq!(shown["list"]["category"], "vpn-hosting");
    let v4 = shown["ipv4"].as_array().expect("ipv4");
    let v6 = shown["ipv6"].as_array().expect("ipv6");
    assert!(v4.len() > 100, "{}", v4.len());
    let mut v4_addresses = 0u64;
    for r in v4.iter().chain(v6) {
        let first: IpAddr = r["first"].as_str().expect("first").parse().expect("ip");
        let last: IpAddr = r["last"].as_str().expect("last").parse().expect("ip");
        for ip in [first, last] {
            assert_eq!(table.lookup(ip).map(|a| a.number), Some(9009), "{ip}");
        }
        if let (IpAddr::V4(a), IpAddr::V4(b)) = (first, last) {
            v4_addresses += u64::from(u32::from(b) - u32::from(a)) + 1;
            // Just outside the range is another AS or none (ranges are maximal).
            if let Some(after) = u32::from(b).checked_add(1) {
                let after = IpAddr::V4(after.into());
                assert_ne!(table.lookup(after).map(|a| a.number), Some(9009), "{after}");
            }
        }
    }
    assert_eq!(
        shown["extent"]["ipv4_addresses"].as_u64(),
        Some(v4_addresses)
    );
    assert_eq!(
        shown["extent"]["ipv4_ranges"].as_u64(),
        Some(v4.len() as u64)
    );

    // Without --all: the first ten of each family.
    let short = json(&["asn", "show", "9009", "--json"]);
    assert_eq!(short["ipv4"].as_array().map(Vec::len), Some(10));
    assert_eq!(short["complete"], false);
}

#[test]
fn lookup_prints_the_range_that_holds_the_address() {
    let (stdout, _, ok) = vpnrecon(&["lookup", "8.8.8.8", "10.0.0.1"]);
    assert!(ok);
    let line = stdout.lines().next().expect("a line");
    let range = line.rsplit("range ").next().expect("range column");
    let (net, len) = range.split_once('/').expect("a CIDR block");
    let net: std::net::Ipv4Addr = net.parse().expect("network");
    let len: u32 = len.parse().expect("length");
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    assert_eq!(
        u32::from(net) & mask,
        u32::from(std::net::Ipv4Addr::new(8, 8, 8, 8)) & mask
    );
    assert!(stdout
        .lines()
        .nth(1)
        .expect("second line")
        .contains("no ASN"));
}

#[test]
fn lookup_with_a_configuration_names_local_vpn_ranges() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("vpnrecon.toml");
    std::fs::write(
        &config,
        r#"add_vpn_cidrs = [{ cidr = "8.8.8.0/24", label = "ACME exits" }, { cidr = "10.0.0.0/8", label = "lab" }]"#,
    )
    .expect("write");
    let path = config.to_str().expect("utf-8 path");
    let (stdout, stderr, ok) = vpnrecon(&[
        "lookup",
        "--config",
        path,
        "8.8.8.8",
        "10.0.0.1",
        "9.9.9.9",
        "146.70.117.42",
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].contains("AS15169")
            && lines[0].contains("local VPN range 8.8.8.0/24 (ACME exits): local"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("no ASN in the table") && lines[1].contains("10.0.0.0/8 (lab)"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("not on the VPN list"), "{}", lines[2]);
    assert!(
        lines[3].contains("AS9009") && lines[3].contains("VPN list: vpn-hosting"),
        "{}",
        lines[3]
    );
    // `asn show` names the ranges inside the AS.
    let (stdout, stderr, ok) = vpnrecon(&["asn", "show", "--config", path, "AS15169"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout
            .contains("local VPN ranges (add_vpn_cidrs) in this AS: 1\n  8.8.8.0/24 (ACME exits)"),
        "{stdout}"
    );
    // Without the file the curated list decides: 8.8.8.8 is on no list.
    let (stdout, _, _) = vpnrecon(&["lookup", "8.8.8.8"]);
    assert!(stdout.contains("not on the VPN list"), "{stdout}");
}

#[test]
fn unknown_as_and_bad_number_say_what_to_do() {
    let (_, stderr, ok) = vpnrecon(&["asn", "show", "AS4294967000"]);
    assert!(!ok);
    assert!(stderr.contains("asn search"), "{stderr}");
    let (_, stderr, ok) = vpnrecon(&["asn", "show", "M247"]);
    assert!(!ok);
    assert!(stderr.contains("AS9009"), "{stderr}");
}
