//! What the two detections test, read off the active configuration, for the rule
//! exporters (`export-sigma`, `export-elastic`). Both load the configuration with
//! the module's own loader, so a SIEM rule says what the router says; an invalid
//! file is an error, never rules quietly built from the defaults.

use std::path::Path;

use uuid::Uuid;
use vpnrecon_filter::config::{Config, Glob};
use vpnrecon_filter::rules::Rule;

use crate::fluent_bit_config::{self, DATE_PATTERN, VERSION_PATTERN};

/// Namespace of every id the exporters derive: a UUIDv5 of this URL in the URL
/// namespace. Ids are `uuid5(NAMESPACE, "<rule id>/<flavour>")`, so they stay the
/// same from one export to the next and differ between flavours.
pub const ID_NAMESPACE_URL: &str = "urn:vpnrecon:rule-export";

/// A stable id for one rule in one flavour.
pub fn stable_id(rule: Rule, flavour: &str) -> Uuid {
    let namespace = Uuid::new_v5(&Uuid::NAMESPACE_URL, ID_NAMESPACE_URL.as_bytes());
    Uuid::new_v5(&namespace, format!("{}/{flavour}", rule.id()).as_bytes())
}

/// The rules both exporters write.
pub const RULES: [Rule; 2] = [Rule::DiscoveryNewIdentity, Rule::Workload];

/// MITRE ATT&CK: what the module reports in `detection.threat`.
pub const TACTIC: (&str, &str) = ("TA0007", "Discovery");
pub const TECHNIQUES: [(&str, &str); 2] = [
    ("T1526", "Cloud Service Discovery"),
    ("T1580", "Cloud Infrastructure Discovery"),
];

/// Elastic's production rule that rule A follows.
pub const ELASTIC_RULE_URL: &str = "https://github.com/elastic/detection-rules/blob/main/rules/integrations/aws/discovery_new_terms_vpn_asn_discovery_api_calls.toml";

/// The configuration in force: the file given with `--config` (which must exist and
/// be valid), else the built-in defaults.
pub fn load(config: Option<&Path>) -> Result<(Config, Option<String>), String> {
    match config {
        None => Ok((Config::default(), None)),
        Some(path) => {
            let active = fluent_bit_config::load_active(Some(path), Path::new("."))
                .map_err(|e| e.replace("nothing was generated", "no rule was written"))?;
            Ok((active.config, active.file))
        }
    }
}

/// Actions whose Lambda-versioned spellings (`ListFunctions20150331`,
/// `GetFunction20150331v2`) the module counts as the action itself, with the
/// pattern of the suffix each may carry. `Config::has_action` removes a trailing
/// `20YYMMDD` optionally followed by `vN`; the eight digits must follow a non-digit,
/// and after an action ending in `v` a bare date would be read as a version first.
pub fn versioned_action_pattern(actions: &[String]) -> Option<String> {
    let (mut plain, mut ends_v) = (Vec::new(), Vec::new());
    for action in actions {
        match action.as_bytes().last() {
            Some(b) if b.is_ascii_digit() => {}
            Some(b'v') => ends_v.push(regex_literal(action)),
            Some(_) => plain.push(regex_literal(action)),
            None => {}
        }
    }
    let mut alternatives = Vec::new();
    if !plain.is_empty() {
        alternatives.push(format!(
            "(?:{})(?:{DATE_PATTERN})(?:{VERSION_PATTERN})?",
            plain.join("|")
        ));
    }
    if !ends_v.is_empty() {
        alternatives.push(format!(
            "(?:{})(?:{DATE_PATTERN})(?:{VERSION_PATTERN})",
            ends_v.join("|")
        ));
    }
    match alternatives.len() {
        0 => None,
        1 => alternatives.pop(),
        _ => Some(format!("(?:{})", alternatives.join("|"))),
    }
}

/// A literal inside a regular expression: ASCII letters and digits as they are,
/// anything else escaped (configured actions are API names, so this rarely applies).
fn regex_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

/// `sts` → `sts.amazonaws.com`, as CloudTrail writes `eventSource`.
pub fn provider_names(config: &Config) -> Vec<String> {
    config
        .providers
        .iter()
        .map(|p| format!("{p}.amazonaws.com"))
        .collect()
}

pub fn asn_numbers(config: &Config) -> Vec<u32> {
    config.vpn_asns.iter().map(|a| a.asn).collect()
}

/// The local VPN ranges (`add_vpn_cidrs`) as CIDR text, most specific first.
pub fn local_ranges(config: &Config) -> Vec<String> {
    config
        .vpn_ranges
        .iter()
        .map(|r| r.net.to_string())
        .collect()
}

pub fn glob_texts(globs: &[Glob]) -> Vec<String> {
    globs.iter().map(|g| g.as_str().to_owned()).collect()
}

/// EC2 instance-id session names: `i-` and 8 or 17 characters (the module also
/// checks they are hex digits, which wildcards cannot say).
pub const INSTANCE_SESSION_PATTERNS: [&str; 2] = [
    "*:assumed-role/*/i-????????",
    "*:assumed-role/*/i-?????????????????",
];

/// The role name read from an assumed-role ARN, as a wildcard over the whole ARN.
pub fn arn_role_pattern(role_pattern: &str) -> String {
    format!("*:assumed-role/{role_pattern}/*")
}

/// What no rule language here can say, for rule descriptions and the README.
pub fn limits_text(rule: Rule) -> &'static str {
    match rule {
        Rule::DiscoveryNewIdentity => {
            "Not expressible in Sigma: rule A alerts only on the first candidate of a key (account, identity, source ASN) in the history window (first-seen, new_terms); this rule matches every candidate. Use `vpnrecon export-elastic` (an Elastic new_terms rule) or run the vpnrecon filter module for the first-seen condition."
        }
        Rule::Workload => {
            "Not expressible in Sigma: rule B alerts once per principal, source ASN and action per UTC hour; this rule matches every candidate (deduplicate in the SIEM, e.g. Elastic alert suppression)."
        }
    }
}

/// Limits of every exported Sigma rule.
pub const SIGMA_LIMITS: &str = "Sigma string matching is case-insensitive by the specification (Splunk applies that; Elasticsearch keyword fields and SQL backends compare exactly), where vpnrecon matches actions, providers and principal patterns case-sensitively and workload-role patterns case-insensitively. Instance-id sessions are matched as `i-` plus 8 or 17 characters (vpnrecon also checks they are hex). A role name taken from the ARN is matched with a wildcard over the whole ARN, so a `*` in a workload-role pattern can reach past the role name.";

/// Limits of every exported Elastic rule.
pub const ELASTIC_LIMITS: &str = "Keyword fields compare exactly, so workload-role patterns are case-sensitive here (vpnrecon ignores case in role names). A role name taken from the ARN is matched with a wildcard over the whole ARN, so a `*` in a workload-role pattern can reach past the role name. source.as.number comes from the SIEM's own ASN enrichment, which may differ from vpnrecon's baked table.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_pattern_follows_the_normaliser() {
        let actions = ["ListFunctions", "GetV", "Describe2"].map(String::from);
        let pattern = versioned_action_pattern(&actions).unwrap_or_default();
        let re = regex::Regex::new(&format!(r"\A(?:{pattern})\z")).expect("valid regex");
        for name in [
            "ListFunctions20150331",
            "ListFunctions20150331v2",
            "GetV20150331v2",
            "ListFunctions",
            "ListFunctions20151331",
            "GetV20150331",
            "Describe220150331",
            "XListFunctions20150331",
        ] {
            let normalised = vpnrecon_filter::prefilter::normalise_action(name);
            let module_counts_it = name != normalised && actions.iter().any(|a| *a == normalised);
            assert_eq!(re.is_match(name), module_counts_it, "{name}");
        }
    }

    #[test]
    fn ids_are_stable_and_differ_by_flavour() {
        let a = stable_id(Rule::DiscoveryNewIdentity, "ecs");
        assert_eq!(a, stable_id(Rule::DiscoveryNewIdentity, "ecs"));
        assert_ne!(a, stable_id(Rule::DiscoveryNewIdentity, "cloudtrail"));
        assert_ne!(a, stable_id(Rule::Workload, "ecs"));
        assert_eq!(a.get_version_num(), 5);
    }
}
