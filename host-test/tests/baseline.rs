//! `vpnrecon baseline` against independent truth: action tallies recomputed here
//! with serde_json from the fixture and sample files (the contract's lists written
//! out, identities and the Lambda suffix read by hand), alert volume from the
//! hand-written `.expect` files, and a proposal that the module's own parser accepts
//! and that, applied, silences what it says it will.

#![cfg(feature = "native")]

use flate2::read::MultiGzDecoder;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use vpnrecon_host::baseline::{baseline, Report};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

const PROVIDERS: [&str; 10] = [
    "sts",
    "iam",
    "s3",
    "ec2",
    "lambda",
    "rds",
    "dynamodb",
    "kms",
    "cloudtrail",
    "bedrock",
];
const ACTIONS: [&str; 22] = [
    "GetCallerIdentity",
    "ListUsers",
    "ListRoles",
    "ListAccessKeys",
    "GetAccountSummary",
    "ListAccountAliases",
    "ListGroups",
    "ListMFADevices",
    "ListBuckets",
    "DescribeInstances",
    "DescribeRegions",
    "DescribeVpcs",
    "DescribeSecurityGroups",
    "ListFunctions",
    "DescribeDBInstances",
    "DescribeDBSnapshots",
    "ListTables",
    "ListKeys",
    "ListAliases",
    "DescribeTrails",
    "LookupEvents",
    "ListFoundationModels",
];

/// Every raw CloudTrail event of a file: NDJSON lines, or `{"Records": [...]}`
/// documents, gzip or not.
fn events_of(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).expect("read");
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .expect("gunzip");
        s
    } else {
        String::from_utf8(bytes).expect("utf-8")
    };
    let mut out = Vec::new();
    for doc in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
        let doc = doc.expect("json");
        match doc.get("Records").and_then(Value::as_array) {
            Some(records) => out.extend(records.iter().cloned()),
            None => out.push(doc),
        }
    }
    out
}

/// `ListFunctions20150331v2` → `ListFunctions`.
fn strip_version(name: &str) -> &str {
    let b = name.as_bytes();
    let mut end = b.len();
    if let Some(v) = name.rfind('v') {
        if v + 1 < b.len() && b[v + 1..].iter().all(u8::is_ascii_digit) {
            end = v;
        }
    }
    if end >= 8
        && name[end - 8..end].starts_with("20")
        && b[end - 8..end].iter().all(u8::is_ascii_digit)
    {
        return &name[..end - 8];
    }
    name
}

#[derive(Default, Debug, PartialEq, Eq)]
struct Tally {
    calls: u64,
    identities: BTreeSet<String>,
    asns: BTreeSet<u32>,
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut v = v;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str()
}

/// (action, provider) → [all, listed vpn, listed hosting, elsewhere].
fn independent_tallies(files: &[PathBuf]) -> BTreeMap<(String, String), [Tally; 4]> {
    tallies_with_local_ranges(files, &|_| false)
}

/// [`independent_tallies`] where the addresses `local` accepts count as VPN sources
/// (category local) whatever their ASN, as `add_vpn_cidrs` says.
fn tallies_with_local_ranges(
    files: &[PathBuf],
    local: &dyn Fn(std::net::IpAddr) -> bool,
) -> BTreeMap<(String, String), [Tally; 4]> {
    let table = asn_data::baked().expect("table");
    let enabled: BTreeMap<u32, String> = asn_data::curated::list()
        .into_iter()
        .filter(|c| c.enabled)
        .map(|c| (c.asn, c.category.as_str().to_owned()))
        .collect();
    let mut out: BTreeMap<(String, String), [Tally; 4]> = BTreeMap::new();
    for file in files {
        for e in events_of(file) {
            let action = strip_version(str_at(&e, &["eventName"]).unwrap_or(""));
            let provider = str_at(&e, &["eventSource"]).unwrap_or("");
            let short = provider.strip_suffix(".amazonaws.com");
            let configured_provider = short.is_some_and(|s| PROVIDERS.contains(&s));
            let discovery_like = ACTIONS.contains(&action)
                || (configured_provider
                    && ["List", "Describe", "Get"]
                        .iter()
                        .any(|p| action.starts_with(p)));
            if !discovery_like {
                continue;
            }
            let ui = &e["userIdentity"];
            let user = str_at(ui, &["sessionContext", "sessionIssuer", "userName"])
                .or_else(|| str_at(ui, &["userName"]))
                .filter(|s| !s.is_empty())
                .or_else(|| str_at(ui, &["arn"]).filter(|s| !s.is_empty()));
            let account = str_at(ui, &["accountId"])
                .or_else(|| str_at(&e, &["recipientAccountId"]))
                .unwrap_or("");
            let identity = user.map(|u| format!("{account}/{u}"));
            let ip: Option<std::net::IpAddr> =
                str_at(&e, &["sourceIPAddress"]).and_then(|s| s.parse().ok());
            let asn = ip.and_then(|ip| table.lookup(ip)).map(|a| a.number);
            let bucket = match asn.and_then(|a| enabled.get(&a)).map(String::as_str) {
                _ if ip.is_some_and(local) => 1,
                Some("hosting") => 2,
                Some(_) => 1,
                None => 3,
            };
            let entry = out
                .entry((action.to_owned(), provider.to_owned()))
                .or_default();
            for i in [0, bucket] {
                entry[i].calls += 1;
                entry[i].identities.extend(identity.clone());
                entry[i].asns.extend(asn);
            }
        }
    }
    out
}

fn inputs() -> Vec<PathBuf> {
    let r = repo();
    vec![
        r.join("samples/cloudtrail"),
        r.join("tests/fixtures/benign.ndjson"),
        r.join("tests/fixtures/attack_chain.ndjson"),
    ]
}

fn sample_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("samples/cloudtrail"))
        .expect("samples")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files.push(repo().join("tests/fixtures/benign.ndjson"));
    files.push(repo().join("tests/fixtures/attack_chain.ndjson"));
    files
}

#[test]
fn action_tallies_match_an_independent_reading() {
    let report: Report = baseline(&inputs(), None, false).expect("baseline");
    let want = independent_tallies(&sample_files());
    assert!(
        want.len() >= 10,
        "fixtures hold too few discovery-like actions"
    );
    let mut seen = 0;
    for a in &report.actions {
        let w = want
            .get(&(a.action.clone(), a.provider.clone()))
            .unwrap_or_else(|| panic!("{} {} not discovery-like here", a.action, a.provider));
        let ctx = format!("{} {}", a.action, a.provider);
        assert_eq!(a.calls, w[0].calls, "{ctx} calls");
        assert_eq!(a.identities, w[0].identities.len(), "{ctx} identities");
        assert_eq!(a.source_asns, w[0].asns.len(), "{ctx} ASNs");
        for (got, w) in [
            (&a.by_category.vpn, &w[1]),
            (&a.by_category.hosting, &w[2]),
            (&a.by_category.elsewhere, &w[3]),
        ] {
            assert_eq!(got.calls, w.calls, "{ctx}");
            assert_eq!(got.identities, w.identities.len(), "{ctx}");
            assert_eq!(got.source_asns, w.asns.len(), "{ctx}");
        }
        assert_eq!(a.configured, ACTIONS.contains(&a.action.as_str()), "{ctx}");
        seen += 1;
    }
    assert_eq!(seen, want.len(), "every discovery-like action is reported");

    let called: BTreeSet<&str> = want.keys().map(|(a, _)| a.as_str()).collect();
    let never: Vec<&str> = ACTIONS
        .iter()
        .copied()
        .filter(|a| !called.contains(a))
        .collect();
    let mut got_never: Vec<&str> = report
        .configured_actions_never_seen
        .iter()
        .map(String::as_str)
        .collect();
    got_never.sort_unstable();
    let mut never_sorted = never.clone();
    never_sorted.sort_unstable();
    assert_eq!(got_never, never_sorted);
    let events: usize = sample_files().iter().map(|f| events_of(f).len()).sum();
    assert_eq!(report.input.events, events as u64);
}

/// A local VPN range (`add_vpn_cidrs`) moves exactly the calls from its addresses
/// into the VPN split, and the listed-ASN section stays the list's.
#[test]
fn local_vpn_ranges_count_as_vpn_sources() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("vpnrecon.toml");
    std::fs::write(
        &config,
        r#"add_vpn_cidrs = [
    { cidr = "84.150.23.0/24", label = "exits" },
    { cidr = "2601:c0::/32", label = "IPv6 exits" },
]
"#,
    )
    .expect("write");
    let report: Report = baseline(&inputs(), Some(&config), false).expect("baseline");
    // The two ranges written out by hand.
    let local = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => v4.octets()[..3] == [84, 150, 23],
        std::net::IpAddr::V6(v6) => v6.segments()[..2] == [0x2601, 0x00c0],
    };
    let want = tallies_with_local_ranges(&sample_files(), &local);
    let plain = independent_tallies(&sample_files());
    let mut moved = 0;
    for a in &report.actions {
        let key = (a.action.clone(), a.provider.clone());
        let w = &want[&key];
        let ctx = format!("{} {}", a.action, a.provider);
        assert_eq!(a.by_category.vpn.calls, w[1].calls, "{ctx}");
        assert_eq!(a.by_category.vpn.identities, w[1].identities.len(), "{ctx}");
        assert_eq!(a.by_category.elsewhere.calls, w[3].calls, "{ctx}");
        moved += w[1].calls - plain[&key][1].calls;
    }
    assert!(moved > 0, "the fixtures call from the ranges");
    // The range's own AS is on no list, so it stays out of the listed-ASN section.
    let table = asn_data::baked().expect("table");
    let asn = table
        .lookup("84.150.23.7".parse().expect("address"))
        .expect("routed")
        .number;
    assert!(asn_data::curated::list().iter().all(|c| c.asn != asn));
    assert!(report.listed_asns_seen.iter().all(|l| l.asn != asn));
}

/// Alert counts per rule from an `.expect` file (lines `N A …`, `N B …`, `N - …`).
fn expected_alerts(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).expect("expect file");
    let mut counts = (0, 0);
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        match line.split_whitespace().nth(1) {
            Some("A") => counts.0 += 1,
            Some("B") => counts.1 += 1,
            _ => {}
        }
    }
    counts
}

#[test]
fn alert_volume_matches_the_hand_written_expectations() {
    let fixtures = repo().join("tests/fixtures");
    let mut cases: Vec<PathBuf> = vec![fixtures.join("attack_chain.ndjson")];
    let mut clauses: Vec<PathBuf> = std::fs::read_dir(fixtures.join("clauses"))
        .expect("clauses")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    clauses.sort();
    cases.extend(clauses);
    let mut checked = 0;
    for case in cases {
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Record-time cases depend on the host's clock stamp, and an invalid file is
        // refused by baseline (the module would run on the defaults).
        if name.starts_with("11-") || name.starts_with("22-") {
            continue;
        }
        let toml = case.with_extension("toml");
        let config = toml.exists().then_some(toml.as_path());
        let report = baseline(std::slice::from_ref(&case), config, false).expect("baseline");
        let (a, b) = expected_alerts(&case.with_extension("expect"));
        let by_rule = &report.alerts.by_rule;
        assert_eq!(by_rule["vpnrecon-discovery-vpn-new-identity"], a, "{name}");
        assert_eq!(by_rule["vpnrecon-discovery-vpn-workload"], b, "{name}");
        let per_day: u64 = report.alerts.per_day.iter().map(|d| d.total).sum();
        assert_eq!(per_day, a + b, "{name}: per-day totals");
        let per_principal: u64 = report.alerts.principals.iter().map(|p| p.alerts).sum();
        assert_eq!(per_principal, a + b, "{name}: per-principal totals");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} cases");
}

#[test]
fn benign_traffic_raises_nothing() {
    let report =
        baseline(&[repo().join("tests/fixtures/benign.ndjson")], None, false).expect("baseline");
    assert_eq!(report.alerts.total, 0);
    assert!(report.alerts.per_day.is_empty());
}

/// An event line for the generated input.
fn event(day: u32, user: &str, action: &str, provider: &str, ip: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{user}"),
            "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE", "userName": user},
        "eventTime": format!("2026-06-{day:02}T09:00:00Z"),
        "eventSource": format!("{provider}.amazonaws.com"),
        "eventName": action,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "recipientAccountId": "111122223333"
    })
    .to_string()
}

#[test]
fn proposal_is_a_delta_the_module_accepts_and_it_silences_what_it_says() {
    const M247: &str = "146.70.117.42"; // AS9009 (tests/fixtures/README.md)
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lines = Vec::new();
    // carol works through the VPN every day for 10 days: allowlist candidate.
    for day in 1..=10 {
        lines.push(event(day, "carol", "ListBuckets", "s3", M247));
    }
    // An unlisted discovery call from the VPN: proposed for add_actions.
    lines.push(event(
        3,
        "mallory",
        "GetAccountAuthorizationDetails",
        "iam",
        M247,
    ));
    // Twelve people call DescribeRegions from the VPN on one day: routine here.
    for n in 0..12 {
        lines.push(event(5, &format!("dev{n}"), "DescribeRegions", "ec2", M247));
    }
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, lines.join("\n")).expect("write");

    let report = baseline(std::slice::from_ref(&input), None, false).expect("baseline");
    let p = &report.proposal;
    let values = |v: &[vpnrecon_host::baseline::Proposed]| -> Vec<String> {
        v.iter().map(|p| p.value.clone()).collect()
    };
    assert_eq!(values(&p.add_actions), ["GetAccountAuthorizationDetails"]);
    assert_eq!(values(&p.remove_actions), ["DescribeRegions"]);
    assert_eq!(
        values(&p.allow_principals),
        ["arn:aws:iam::111122223333:user/carol"]
    );
    // The delta is a configuration the module's parser accepts as it is.
    let config = vpnrecon_filter::config::parse(&p.toml, "proposal.toml")
        .unwrap_or_else(|e| panic!("{}\n{}", e.describe(), p.toml));
    assert!(config.has_action(b"GetAccountAuthorizationDetails"));
    assert!(!config.has_action(b"DescribeRegions"));

    // Applied, carol and the developers no longer fire; mallory now does.
    let toml = dir.path().join("vpnrecon.toml");
    std::fs::write(&toml, &p.toml).expect("write");
    let after = baseline(std::slice::from_ref(&input), Some(&toml), false).expect("baseline");
    let firing: Vec<&str> = after
        .alerts
        .principals
        .iter()
        .filter(|p| p.alerts > 0)
        .map(|p| p.arn.as_str())
        .collect();
    assert_eq!(firing, ["arn:aws:iam::111122223333:user/mallory"]);
    // Before: carol (day 1), 12 developers, no mallory (action not listed).
    assert_eq!(report.alerts.total, 13);
    assert_eq!(after.alerts.total, 1);
}

#[test]
fn cli_json_has_the_documented_members() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vpnrecon"))
        .args(["baseline", "--json"])
        .arg(repo().join("tests/fixtures/attack_chain.ndjson"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    for key in [
        "period",
        "input",
        "config",
        "actions",
        "configured_actions_never_seen",
        "listed_asns_seen",
        "alerts",
        "proposal",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let a = &v["actions"][0];
    for key in [
        "action",
        "provider",
        "calls",
        "identities",
        "source_asns",
        "by_category",
    ] {
        assert!(a.get(key).is_some(), "actions[0] missing {key}");
    }
    for cat in ["vpn", "hosting", "elsewhere"] {
        assert!(a["by_category"][cat]["calls"].is_u64(), "{cat}");
    }
}
