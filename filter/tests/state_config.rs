//! `vpnrecon.toml`: every key, its default, replacement, deltas and each error.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::net::IpAddr;

use vpnrecon_filter::config::{
    self, parse, Config, ConfigError, IdentityKey, Source, CONTRACT_VPN_ASNS,
};

fn ok(text: &str) -> Config {
    match parse(text, "vpnrecon.toml") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn err(text: &str) -> ConfigError {
    match parse(text, "vpnrecon.toml") {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn asns(c: &Config) -> Vec<u32> {
    c.vpn_asns.iter().map(|a| a.asn).collect()
}

#[test]
fn defaults_are_the_contract_lists() {
    let c = ok("");
    assert_eq!(c, Config::default());
    let mut contract = CONTRACT_VPN_ASNS.to_vec();
    contract.sort_unstable();
    assert_eq!(asns(&c), contract);
    // The lists of Elastic's rule, spelled out again here as the independent truth.
    for action in [
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
    ] {
        assert!(c.has_action(action.as_bytes()), "{action}");
    }
    assert_eq!(c.action_count(), 22);
    assert!(c.has_action(b"ListFunctions20150331"));
    assert!(c.has_action(b"ListFunctions20150331v2"));
    assert!(!c.has_action(b"GetFunction20150331v2"));
    assert!(!c.has_action(b"listbuckets"));
    for p in [
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
    ] {
        assert!(c.has_provider(&format!("{p}.amazonaws.com")), "{p}");
    }
    assert!(!c.has_provider("sts"));
    assert!(!c.has_provider("sso.amazonaws.com"));
    assert!(c.vpn_category(9009).is_some());
    assert_eq!(c.vpn_category(15169), None);
    assert_eq!(c.window_secs, 864_000);
    assert_eq!(c.identity_key, IdentityKey::User);
    assert_eq!(c.max_keys, 1_000_000);
    assert_eq!(c.journal_resolution_secs, 3_600);
    assert_eq!(c.state_dir, ".");
    assert!(!c.enrich_all && c.rule_discovery && c.rule_workload);
    assert!(c.is_excluded_principal("arn:aws:sts::1:assumed-role/AWSServiceRoleForConfig/x"));
    assert!(!c.is_excluded_principal("arn:aws:iam::1:user/alice"));
    for role in [
        "AWSServiceRoleForECS",
        "my-lambda-exec",
        "ecsTaskExecutionRole",
        "web-task-role-1",
        "eks-nodes",
        "MY-LAMBDA",
    ] {
        assert!(c.is_workload_role(role), "{role}");
    }
    for role in ["admin", "deploy-eks-x", "taskrole"] {
        assert!(!c.is_workload_role(role), "{role}");
    }
    assert!(!c.is_allowlisted(
        "arn:aws:iam::1:user/a",
        Some("111122223333"),
        ip("203.0.113.9")
    ));
}

#[test]
fn asns_replace_add_remove() {
    let c = ok("asns = [9009, { asn = 64500, category = \"hosting\", name = \"Example\" }]");
    assert_eq!(asns(&c), vec![9009, 64500]);
    let example = c.vpn_asn(64500).unwrap();
    assert_eq!(
        (example.category.as_str(), example.name.as_str()),
        ("hosting", "Example")
    );

    let c =
        ok("add_asns = [64501, { asn = 64502, category = \"vpn\" }]\nremove_asns = [9009, 20473]");
    assert_eq!(asns(&c).len(), 22 + 2 - 2);
    assert_eq!(c.vpn_category(64501), Some("custom"));
    assert_eq!(c.vpn_category(64502), Some("vpn"));
    assert_eq!(c.vpn_category(9009), None);
    assert_eq!(c.vpn_category(20473), None);

    // Deltas apply after a replacement.
    let c = ok("asns = [1, 2]\nadd_asns = [3]\nremove_asns = [1]");
    assert_eq!(asns(&c), vec![2, 3]);
    // Re-adding a listed ASN with a category overrides it.
    let c = ok("add_asns = [{ asn = 9009, category = \"hosting\" }]");
    assert_eq!(c.vpn_category(9009), Some("hosting"));
    assert_eq!(asns(&c).len(), 22);
}

#[test]
fn actions_and_providers_deltas() {
    let c = ok("add_actions = [\"GetBucketPolicy\", \"ListFunctions20150331\"]\nremove_actions = [\"LookupEvents\"]");
    assert!(c.has_action(b"GetBucketPolicy"));
    assert!(!c.has_action(b"LookupEvents"));
    assert_eq!(c.action_count(), 22);
    let c = ok("actions = [\"ListBuckets\"]");
    assert_eq!(c.actions, vec!["ListBuckets".to_owned()]);
    assert!(!c.has_action(b"ListUsers"));

    let c = ok("add_providers = [\"organizations.amazonaws.com\", \"sso\"]\nremove_providers = [\"bedrock\"]");
    assert!(c.has_provider("organizations.amazonaws.com"));
    assert!(c.has_provider("sso.amazonaws.com"));
    assert!(!c.has_provider("bedrock.amazonaws.com"));
    let c = ok("providers = [\"sts\"]");
    assert_eq!(c.providers, vec!["sts".to_owned()]);
}

#[test]
fn allowlists() {
    let c = ok(r#"
allow_principals = ["arn:aws:iam::111122223333:role/scanner-*", "arn:aws:iam::*:user/audit?"]
allow_accounts = ["012345678901"]
allow_cidrs = ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "::ffff:192.0.2.0/120"]
"#);
    let any = ip("8.8.8.8");
    assert!(c.is_allowlisted("arn:aws:iam::111122223333:role/scanner-prod", None, any));
    assert!(
        !c.is_allowlisted("arn:aws:iam::111122223333:role/Scanner-prod", None, any),
        "case-sensitive"
    );
    assert!(c.is_allowlisted("arn:aws:iam::999:user/audit1", None, any));
    assert!(!c.is_allowlisted("arn:aws:iam::999:user/audit12", None, any));
    assert!(c.is_allowlisted("x", Some("012345678901"), any));
    assert!(!c.is_allowlisted("x", Some("12345678901"), any));
    assert!(c.allows_ip(ip("203.0.113.200")));
    assert!(!c.allows_ip(ip("203.0.114.1")));
    assert!(
        c.allows_ip(ip("::ffff:203.0.113.5")),
        "mapped IPv4 checks as IPv4"
    );
    assert!(c.allows_ip(ip("2001:db8:1::1")));
    assert!(!c.allows_ip(ip("2001:db9::1")));
    assert!(c.allows_ip(ip("198.51.100.7")));
    assert!(!c.allows_ip(ip("198.51.100.8")));
    // A mapped-IPv6 network in the file is stored as IPv4.
    assert!(c.allows_ip(ip("192.0.2.77")));
    assert!(c.allows_ip(ip("::ffff:192.0.2.77")));
}

#[test]
fn scalars() {
    let c = ok(r#"
window = "36h"
identity_key = "access_key"
max_keys = 5000
journal_resolution = 0
state_dir = "/var/lib/vpnrecon"
enrich_all = true
rule_discovery = false
rule_workload = false
"#);
    assert_eq!(c.window_secs, 36 * 3600);
    assert_eq!(c.identity_key, IdentityKey::AccessKey);
    assert_eq!(c.max_keys, 5000);
    assert_eq!(c.journal_resolution_secs, 0);
    assert_eq!(c.state_dir, "/var/lib/vpnrecon");
    assert!(c.enrich_all && !c.rule_discovery && !c.rule_workload);
    assert_eq!(ok("window = 7200").window_secs, 7200);
    assert_eq!(ok("window = \"90m\"").window_secs, 5400);
    assert_eq!(ok("identity_key = \"arn\"").identity_key, IdentityKey::Arn);
    assert_eq!(ok("state_dir = \"\"").state_dir, "");
}

#[test]
fn pattern_lists() {
    let c = ok(
        "add_workload_role_patterns = [\"batch-*\"]\nremove_workload_role_patterns = [\"eks-*\"]",
    );
    assert!(c.is_workload_role("BATCH-runner"));
    assert!(!c.is_workload_role("eks-nodes"));
    assert!(c.is_workload_role("my-lambda"));
    let c = ok("workload_role_patterns = [\"svc-*\"]");
    assert!(c.is_workload_role("svc-a") && !c.is_workload_role("my-lambda"));
    let c = ok("add_excluded_principal_substrings = [\"/SecurityAudit/\"]");
    assert!(c.is_excluded_principal("arn:aws:sts::1:assumed-role/SecurityAudit/s"));
    assert!(c.is_excluded_principal("AWSServiceRoleForConfig"));
    let c = ok("excluded_principal_substrings = []");
    assert!(!c.is_excluded_principal("AWSServiceRoleForConfig"));
}

/// (file text, line, key, piece of the message)
const ERRORS: &[(&str, usize, Option<&str>, &str)] = &[
    (
        "# c\n\nwindw = \"1d\"",
        3,
        Some("windw"),
        "did you mean \"window\"?",
    ),
    (
        "window = \"ten days\"",
        1,
        Some("window"),
        "expected a duration like \"10d\" or seconds, got \"ten days\"",
    ),
    ("window = 0", 1, Some("window"), "from 1 seconds"),
    ("window = true", 1, Some("window"), "got true"),
    (
        "journal_resolution = \"-1h\"",
        1,
        Some("journal_resolution"),
        "expected a duration",
    ),
    (
        "\n\nidentity_key = \"usr\"",
        3,
        Some("identity_key"),
        "did you mean \"user\"?",
    ),
    ("max_keys = 0", 1, Some("max_keys"), "from 1 to"),
    (
        "max_keys = \"many\"",
        1,
        Some("max_keys"),
        "expected a whole number",
    ),
    (
        "enrich_all = \"yes\"",
        1,
        Some("enrich_all"),
        "expected true or false",
    ),
    (
        "rule_workload = 1",
        1,
        Some("rule_workload"),
        "expected true or false",
    ),
    ("asns = 9009", 1, Some("asns"), "expected a list"),
    (
        "asns = [\n  9009,\n  -4,\n]",
        3,
        Some("asns"),
        "expected an AS number",
    ),
    (
        "add_asns = [{ asn = 1, categry = \"vpn\" }]",
        1,
        Some("add_asns"),
        "did you mean \"category\"?",
    ),
    (
        "add_asns = [{ asn = 1, category = \"proxy\" }]",
        1,
        Some("add_asns"),
        "unknown category \"proxy\"",
    ),
    (
        "add_asns = [{ category = \"vpn\" }]",
        1,
        Some("add_asns"),
        "without \"asn\"",
    ),
    (
        "remove_asns = [64500]",
        1,
        Some("remove_asns"),
        "AS64500 is not on the VPN ASN list",
    ),
    (
        "add_actions = [\"List Users\"]",
        1,
        Some("add_actions"),
        "expected an API action name",
    ),
    (
        "remove_actions = [\"ListBucket\"]",
        1,
        Some("remove_actions"),
        "\"ListBucket\" is not on the actions list",
    ),
    (
        "add_providers = [\"Sts\"]",
        1,
        Some("add_providers"),
        "expected a service name",
    ),
    (
        "remove_providers = [\"sso\"]",
        1,
        Some("remove_providers"),
        "not on the providers list",
    ),
    (
        "allow_accounts = [12345678901]",
        1,
        Some("allow_accounts"),
        "must be quoted",
    ),
    (
        "allow_accounts = [\"1234\"]",
        1,
        Some("allow_accounts"),
        "12-digit",
    ),
    (
        "allow_cidrs = [\"10.0.0.0/33\"]",
        1,
        Some("allow_cidrs"),
        "expected a CIDR",
    ),
    (
        "allow_principals = [5]",
        1,
        Some("allow_principals"),
        "expected an ARN pattern",
    ),
    (
        "add_workload_role_patterns = [\"\"]",
        1,
        Some("add_workload_role_patterns"),
        "empty string",
    ),
    (
        "remove_excluded_principal_substrings = [\"x\"]",
        1,
        Some("remove_excluded_principal_substrings"),
        "not on the",
    ),
    (
        "state_dir = 1",
        1,
        Some("state_dir"),
        "expected a directory",
    ),
    (
        "[rules]\nnew_identity = true",
        1,
        Some("rules"),
        "unknown key \"rules\"",
    ),
    (
        "a = 1\nwindow = \"1d\"\nwindow = \"2d\"",
        3,
        None,
        "not valid TOML",
    ),
];

#[test]
fn every_error_names_line_and_key() {
    for (text, line, key, piece) in ERRORS {
        let e = err(text);
        assert_eq!(e.line, Some(*line), "{text:?}: {e}");
        assert_eq!(e.key.as_deref(), *key, "{text:?}: {e}");
        let rendered = e.to_string();
        assert!(rendered.contains(piece), "{text:?}: {rendered}");
        assert!(
            rendered.starts_with("vpnrecon: config error in vpnrecon.toml line "),
            "{rendered}"
        );
        assert!(
            rendered.ends_with("; using built-in defaults"),
            "{rendered}"
        );
        assert!(!rendered.contains('\n'), "one line: {rendered:?}");
    }
}

#[test]
fn rendering_matches_the_documented_form() {
    let e = err("enrich_all = false\n\n\n\n\n\nwindow = \"ten days\"\n");
    assert_eq!(
        e.to_string(),
        "vpnrecon: config error in vpnrecon.toml line 7, key \"window\": expected a duration \
         like \"10d\" or seconds, got \"ten days\" (e.g. window = \"10d\"; units d, h, m, s); \
         using built-in defaults"
    );
}

#[test]
fn load_falls_back_to_defaults_with_one_line() {
    let dir = std::env::temp_dir().join(format!("vpnrecon-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    let bad = dir.join("bad.toml");
    std::fs::write(&good, "window = \"2d\"\n").unwrap();
    std::fs::write(&bad, "window = \"2 days\"\n").unwrap();
    let missing = dir.join("missing.toml");
    let (good, bad, missing) = (
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        missing.to_str().unwrap(),
    );
    let mut lines = Vec::new();

    let loaded = config::load_from(&[missing, good, bad], &mut |l| lines.push(l.to_owned()));
    assert_eq!(loaded.source, Source::File(good.to_owned()));
    assert_eq!(loaded.config.window_secs, 2 * 86_400);
    assert!(loaded.error.is_none() && lines.is_empty());

    let loaded = config::load_from(&[missing, bad, good], &mut |l| lines.push(l.to_owned()));
    // The defaults; the source names the file with the error (state stays beside it).
    assert_eq!(loaded.source, Source::File(bad.to_owned()));
    assert_eq!(loaded.config, Config::default());
    assert_eq!(loaded.error.as_ref().unwrap().line, Some(1));
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains(bad) && lines[0].contains("key \"window\""),
        "{}",
        lines[0]
    );

    let loaded = config::load_from(&[missing], &mut |l| lines.push(l.to_owned()));
    assert_eq!(loaded.source, Source::Defaults);
    assert!(loaded.error.is_none());
    assert_eq!(lines.len(), 1);

    std::fs::write(dir.join("latin1.toml"), b"window = \"\xe9\"").unwrap();
    let latin1 = dir.join("latin1.toml");
    let loaded = config::load_from(&[latin1.to_str().unwrap()], &mut |l| {
        lines.push(l.to_owned())
    });
    assert!(loaded.error.unwrap().message.contains("not UTF-8"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn example_file_parses_and_uncommented_it_still_parses() {
    let text = include_str!("../vpnrecon.example.toml");
    assert_eq!(ok(text), Config::default());
    // Uncomment every `# key = value` line (and continuation lines of lists): the
    // example's values must all be valid.
    let mut uncommented = String::new();
    let mut in_list = false;
    for line in text.lines() {
        let body = line.strip_prefix("# ").unwrap_or("");
        let starts_key = body.split_once(" = ").is_some_and(|(k, _)| {
            !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        });
        if starts_key || (in_list && line.starts_with("#  ")) {
            let code = body.split("  #").next().unwrap_or(body);
            uncommented.push_str(if starts_key {
                code
            } else {
                line.trim_start_matches('#')
            });
            uncommented.push('\n');
            in_list = code.contains('[') && !code.contains(']') || (in_list && !line.contains(']'));
        }
    }
    let c = ok(&uncommented);
    assert!(c.vpn_asn(64501).is_some());
    assert!(c.has_provider("organizations.amazonaws.com"));
    assert!(c.is_allowlisted(
        "arn:aws:iam::111122223333:role/security-scanner-1",
        None,
        ip("8.8.8.8")
    ));
}

/// A temporary directory removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("vpnrecon-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }
    fn sub(&self, name: &str) -> String {
        let path = self.0.join(name);
        std::fs::create_dir_all(&path).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The journal an engine built from `loaded` keeps, as `vpnrecon_info` reports it.
fn journal_of(loaded: config::Loaded) -> String {
    let engine = vpnrecon_filter::Engine::with_config(loaded);
    let info: serde_json::Value = serde_json::from_str(&engine.info_json()).unwrap();
    info["state"]["journal"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

#[test]
fn a_config_error_never_moves_state() {
    let scratch = Scratch::new("config-state");
    let conf = scratch.sub("conf");
    let state = scratch.sub("state");
    let file = format!("{conf}/vpnrecon.toml");
    let load = |text: &str| {
        std::fs::write(&file, text).unwrap();
        let loaded = config::load_from(&[file.as_str()], &mut |_| {});
        assert!(loaded.error.is_some(), "{text:?} is invalid");
        // The rules run on the defaults …
        let defaults = Config::default();
        assert_eq!(loaded.config.window_secs, defaults.window_secs);
        assert_eq!(loaded.config.vpn_asns, defaults.vpn_asns);
        loaded
    };
    let in_state = format!("{state}/vpnrecon.journal");
    let in_conf = format!("{conf}/vpnrecon.journal");

    // … but state stays in the file's own valid `state_dir`: after a typo elsewhere,
    // after a bad value elsewhere, and after TOML that does not parse further down.
    for text in [
        format!("state_dir = \"{state}\"\nwindw = \"2d\"\n"),
        format!("window = \"ten days\"\nstate_dir = \"{state}\"\n"),
        format!("state_dir = \"{state}\"\nwindow = \n"),
    ] {
        assert_eq!(journal_of(load(&text)), in_state, "{text:?}");
    }
    // An invalid `state_dir` value itself, or none at all: the file's own directory.
    for text in [
        "state_dir = 7\n",
        "windw = \"2d\"\n",
        "state_dir = \".\"\nx = 1\n",
    ] {
        assert_eq!(journal_of(load(text)), in_conf, "{text:?}");
    }
    // `state_dir = ""` is a valid value (memory only) and is kept too.
    let loaded = load("state_dir = \"\"\nwindw = 1\n");
    assert_eq!(journal_of(loaded), "none");
    // A file that is not UTF-8: its own directory.
    std::fs::write(&file, b"window = \"\xe9\"").unwrap();
    let loaded = config::load_from(&[file.as_str()], &mut |_| {});
    assert!(loaded.error.is_some());
    assert_eq!(journal_of(loaded), in_conf);
    // A valid file keeps state where it says, as before.
    std::fs::write(&file, format!("state_dir = \"{state}\"\n")).unwrap();
    let loaded = config::load_from(&[file.as_str()], &mut |_| {});
    assert!(loaded.error.is_none());
    assert_eq!(journal_of(loaded), in_state);
}
