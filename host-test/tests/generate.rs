//! The benchmark's generated traffic is realistic where it matters: valid CloudTrail
//! JSON of about 1.2 KB, and candidates that really come from listed VPN ASNs.

use vpnrecon_host::generate::{iso8601, vpn_addresses, Generator};

#[test]
fn iso8601_matches_known_epochs() {
    assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso8601(951_868_800_000), "2000-03-01T00:00:00Z");
    assert_eq!(iso8601(1_709_251_199_000), "2024-02-29T23:59:59Z");
}

#[test]
fn events_are_cloudtrail_objects_of_realistic_size() {
    let vpn = vpn_addresses(2);
    let mut generator = Generator::new(3, 0.01, &vpn);
    let events: Vec<_> = (0..2000).map(|_| generator.event()).collect();
    let mut total = 0;
    for event in &events {
        let value: serde_json::Value = serde_json::from_str(&event.json).expect("valid JSON");
        for field in [
            "eventTime",
            "eventSource",
            "eventName",
            "sourceIPAddress",
            "userIdentity",
        ] {
            assert!(
                value.get(field).is_some(),
                "{field} missing in {}",
                event.json
            );
        }
        total += event.json.len();
    }
    let average = total / events.len();
    assert!((900..=1600).contains(&average), "average size {average}");
}

#[test]
fn candidates_come_from_listed_vpn_asns() {
    let vpn = vpn_addresses(2);
    let Some(table) = asn_data::baked() else {
        return; // A build without a table generates no candidates at all.
    };
    assert!(
        !vpn.is_empty(),
        "the baked table has addresses of listed VPN ASNs"
    );
    let listed: Vec<u32> = asn_data::curated::list()
        .iter()
        .filter(|c| c.enabled)
        .map(|c| c.asn)
        .collect();
    let mut generator = Generator::new(5, 0.05, &vpn);
    let mut candidates = 0;
    for _ in 0..2000 {
        let event = generator.event();
        if !event.candidate {
            continue;
        }
        candidates += 1;
        let value: serde_json::Value = serde_json::from_str(&event.json).expect("valid JSON");
        let ip = value["sourceIPAddress"]
            .as_str()
            .expect("ip")
            .parse()
            .expect("an IP");
        let asn = table.lookup(ip).expect("resolves").number;
        assert!(listed.contains(&asn), "AS{asn} is not on the list");
    }
    // 5% of 2000 = 100 expected; a generous band around it.
    assert!((50..=150).contains(&candidates), "{candidates} candidates");
}
