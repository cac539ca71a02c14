//! Table-driven: every listed action with every listed provider (the contract makes
//! them independent conditions), each from a VPN address by its own IAM user.

use vpnrecon_e2e::expect::{get, text, RULE_A};
use vpnrecon_e2e::hosts::{annotate_all, Host, Mode};

/// Rule A's published lists (README.md, filter/CONFIG.md), typed here by hand.
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
/// An address in AS9009 (M247): asn-ipv4-num.csv row 2454063104,2454116351,9009.
const M247: &str = "146.70.117.42";

fn event(user: &str, provider: &str, action: &str, minute: usize) -> String {
    format!(
        concat!(
            "{{\"eventVersion\":\"1.09\",\"userIdentity\":{{\"type\":\"IAMUser\",",
            "\"principalId\":\"AIDAEXAMPLE{user}\",\"arn\":\"arn:aws:iam::111122223333:user/{user}\",",
            "\"accountId\":\"111122223333\",\"accessKeyId\":\"AKIAEXAMPLE{user}\",\"userName\":\"{user}\"}},",
            "\"eventTime\":\"2026-06-0{day}T{hour:02}:{min:02}:00Z\",\"eventSource\":\"{provider}.amazonaws.com\",",
            "\"eventName\":\"{action}\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"{ip}\",",
            "\"userAgent\":\"aws-cli/2.17.20\",\"requestParameters\":null,\"responseElements\":null,",
            "\"requestID\":\"r-{minute}\",\"eventID\":\"e-{minute}\",\"readOnly\":true,\"eventType\":\"AwsApiCall\",",
            "\"managementEvent\":true,\"recipientAccountId\":\"111122223333\",\"eventCategory\":\"Management\"}}"
        ),
        user = user,
        day = 1 + minute / 1440,
        hour = minute / 60 % 24,
        min = minute % 60,
        provider = provider,
        action = action,
        ip = M247,
        minute = minute,
    )
}

#[test]
fn every_listed_action_from_every_listed_provider_fires_rule_a() {
    let mut records = Vec::new();
    let mut expected = Vec::new();
    for provider in PROVIDERS {
        for action in ACTIONS {
            let user = format!("u{}", records.len());
            records.push(event(&user, provider, action, records.len()));
            expected.push((user, provider, action));
        }
    }
    let found = annotate_all(&mut Host::native(Mode::Annotate, None), &records)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    for (n, (user, provider, action)) in expected.iter().enumerate() {
        let Some(hit) = found.iter().find(|f| f.record == n) else {
            problems.push(format!("{provider}.amazonaws.com {action}: no detection"));
            continue;
        };
        let d = &hit.detection;
        let field = |path: &[&str]| get(d, path).map(text).unwrap_or_default();
        let want = [
            (field(&["rule", "id"]), RULE_A.to_owned()),
            (field(&["event", "action"]), action.to_string()),
            (
                field(&["event", "provider"]),
                format!("{provider}.amazonaws.com"),
            ),
            (
                field(&["identity", "key"]),
                format!("111122223333/{user}/AS9009"),
            ),
            (field(&["source", "as", "number"]), "9009".to_owned()),
        ];
        for (got, want) in want {
            if got != want {
                problems.push(format!("{provider} {action}: expected {want}, got {got}"));
            }
        }
    }
    assert_eq!(found.len(), records.len(), "one detection per event");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn listed_actions_from_unlisted_providers_never_fire() {
    let others = [
        "sso",
        "identitystore",
        "organizations",
        "glue",
        "opsworks",
        "config",
        "ecs",
    ];
    let mut records = Vec::new();
    for provider in others {
        for action in ACTIONS {
            records.push(event(
                &format!("x{}", records.len()),
                provider,
                action,
                records.len(),
            ));
        }
    }
    let found = annotate_all(&mut Host::native(Mode::Annotate, None), &records)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(found.is_empty(), "fired for unlisted providers: {found:#?}");
}

#[test]
fn listed_pairs_from_a_non_vpn_address_never_fire() {
    // AS7922 Comcast: asn-ipv4-num.csv row 1224736768,1241513983,7922.
    let records: Vec<String> = ACTIONS
        .iter()
        .enumerate()
        .map(|(n, action)| event(&format!("c{n}"), "iam", action, n).replace(M247, "73.158.40.12"))
        .collect();
    let found = annotate_all(&mut Host::native(Mode::Annotate, None), &records)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(found.is_empty(), "fired from Comcast: {found:#?}");
}
