//! `vpnrecon export-elastic DIR [--config FILE]`: the detections as Elastic
//! detection rules in the TOML layout of Elastic's detection-rules repository
//! (`[metadata]`, `[rule]`, `[[rule.threat]]`), built from the active configuration.
//!
//! * Rule A is a `new_terms` rule on (`cloud.account.id`, the identity field,
//!   `source.as.number`) with the configured window as `history_window_start`, as
//!   Elastic's own rule. A new-terms rule ignores events that lack one of its fields,
//!   so for `identity_key = "user"` a second new-terms rule covers events without
//!   `user.name` (root, federated, cross-account) on the principal ARN: the module's
//!   ARN fallback, split in two.
//! * Rule B is a query rule with alert suppression per principal, ASN and action
//!   for one hour.
//!
//! Queries are Lucene (not KQL) because the Lambda-versioned action names need a
//! regular expression.

use std::fmt::Write as _;
use std::path::PathBuf;

use vpnrecon_filter::config::{Config, IdentityKey};
use vpnrecon_filter::output::format_duration;
use vpnrecon_filter::rules::Rule;

use crate::rule_model::{self, TACTIC, TECHNIQUES};

#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Directory to write the rules into (created if missing).
    pub dir: PathBuf,
    /// vpnrecon.toml to build the rules from (default: the built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The indices Elastic's AWS integration and Filebeat write CloudTrail to.
pub const INDICES: [&str; 2] = ["filebeat-*", "logs-aws.cloudtrail-*"];

/// One file to write: name and TOML text.
pub struct RuleFile {
    pub name: String,
    pub text: String,
}

pub fn run(args: &Args) -> Result<String, String> {
    let (config, file) = rule_model::load(args.config.as_deref())?;
    let files = render_all(&config);
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    let mut summary = format!(
        "wrote {} Elastic rules from {}:\n",
        files.len(),
        file.as_deref().unwrap_or("the built-in defaults")
    );
    for f in &files {
        let path = args.dir.join(&f.name);
        std::fs::write(&path, &f.text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let _ = writeln!(summary, "  {}", path.display());
    }
    Ok(summary)
}

/// The identity field of rule A's new terms, and whether events without it need the
/// ARN rule as well.
fn identity_field(config: &Config) -> (&'static str, bool) {
    match config.identity_key {
        IdentityKey::User => ("user.name", true),
        IdentityKey::Arn => ("aws.cloudtrail.user_identity.arn", false),
        IdentityKey::AccessKey => ("aws.cloudtrail.user_identity.access_key_id", true),
    }
}

pub fn render_all(config: &Config) -> Vec<RuleFile> {
    let date = asn_data::baked()
        .map(|t| t.header().build_date.replace('-', "/"))
        .unwrap_or_else(|| "1970/01/01".to_owned());
    let mut files = Vec::new();
    let candidate = candidate_query(config);
    let workload = workload_query(config);
    if config.rule_discovery {
        let (field, needs_fallback) = identity_field(config);
        let query = format!("{candidate} AND {field}:* AND NOT {workload}");
        files.push(RuleFile {
            name: format!("{}.toml", Rule::DiscoveryNewIdentity.id()),
            text: new_terms_rule(config, &date, "elastic", field, &query, ""),
        });
        if needs_fallback {
            let arn = "aws.cloudtrail.user_identity.arn";
            let query = format!("{candidate} AND NOT {field}:* AND NOT {workload}");
            files.push(RuleFile {
                name: format!("{}-arn-fallback.toml", Rule::DiscoveryNewIdentity.id()),
                text: new_terms_rule(
                    config,
                    &date,
                    "elastic-arn-fallback",
                    arn,
                    &query,
                    &format!(" Companion rule for events without {field}: their principal ARN is the identity."),
                ),
            });
        }
    }
    if config.rule_workload {
        let query = format!("{candidate} AND {workload}");
        files.push(RuleFile {
            name: format!("{}.toml", Rule::Workload.id()),
            text: workload_rule(&date, &query),
        });
    }
    files
}

fn new_terms_rule(
    config: &Config,
    date: &str,
    flavour: &str,
    identity: &str,
    query: &str,
    extra: &str,
) -> String {
    let rule = Rule::DiscoveryNewIdentity;
    let window = history_window(config.window_secs);
    let description = format!(
        "{}. An identity ({identity}) calls a discovery API from a VPN or VPN-heavy hosting ASN for the first time in {} in an account. Built by vpnrecon from its configuration; follows Elastic's rule with Lambda's versioned action names.{extra} Not expressible here: Elastic's history window is relative to the rule's run time, where vpnrecon uses event time (a replay of old logs alerts differently), and events that arrive out of order are judged by ingest, not event, time. {}",
        rule.name(),
        format_duration(config.window_secs),
        rule_model::ELASTIC_LIMITS
    );
    let mut t = header(date, rule, flavour, &description, query);
    t.push_str("type = \"new_terms\"\n\n");
    threat(&mut t);
    t.push_str("[rule.new_terms]\nfield = \"new_terms_fields\"\n");
    let _ = writeln!(
        t,
        "value = [\"cloud.account.id\", \"{identity}\", \"source.as.number\"]"
    );
    t.push_str("[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\n");
    let _ = writeln!(t, "value = \"{window}\"");
    t
}

fn workload_rule(date: &str, query: &str) -> String {
    let rule = Rule::Workload;
    let description = format!(
        "{}. Workload credentials (an EC2 instance-role session or a role matching the workload-role patterns) call a discovery API from a VPN or VPN-heavy hosting ASN. Built by vpnrecon from its configuration. Not expressible here: vpnrecon deduplicates per UTC clock hour of event time; alert suppression groups for one hour from the first alert. {}",
        rule.name(),
        rule_model::ELASTIC_LIMITS
    );
    let mut t = header(date, rule, "elastic", &description, query);
    t.push_str("type = \"query\"\n\n");
    t.push_str("[rule.alert_suppression]\n");
    t.push_str("group_by = [\"aws.cloudtrail.user_identity.arn\", \"source.as.number\", \"event.action\"]\n");
    t.push_str("missing_fields_strategy = \"suppress\"\n\n");
    t.push_str("[rule.alert_suppression.duration]\nunit = \"h\"\nvalue = 1\n\n");
    threat(&mut t);
    t
}

fn header(date: &str, rule: Rule, flavour: &str, description: &str, query: &str) -> String {
    let mut t = String::with_capacity(4096);
    t.push_str("[metadata]\n");
    let _ = writeln!(t, "creation_date = \"{date}\"");
    t.push_str("integration = [\"aws\"]\nmaturity = \"production\"\n");
    let _ = writeln!(t, "updated_date = \"{date}\"\n");
    t.push_str("[rule]\nauthor = [\"vpnrecon\"]\n");
    let _ = writeln!(t, "description = {}", basic_string(description));
    t.push_str("from = \"now-9m\"\n");
    let indices: Vec<String> = INDICES.iter().map(|i| basic_string(i)).collect();
    let _ = writeln!(t, "index = [{}]", indices.join(", "));
    t.push_str("language = \"lucene\"\nlicense = \"Apache License 2.0\"\n");
    let _ = writeln!(t, "name = {}", basic_string(rule.name()));
    let _ = writeln!(
        t,
        "references = [{}]",
        basic_string(rule_model::ELASTIC_RULE_URL)
    );
    let _ = writeln!(t, "risk_score = {}", rule.risk_score());
    let _ = writeln!(t, "rule_id = \"{}\"", rule_model::stable_id(rule, flavour));
    let _ = writeln!(t, "severity = \"{}\"", rule.severity());
    t.push_str("tags = [\"Domain: Cloud\", \"Data Source: AWS\", \"Data Source: Amazon Web Services\", \"Data Source: AWS CloudTrail\", \"Use Case: Threat Detection\", \"Tactic: Discovery\"]\n");
    t.push_str("timestamp_override = \"event.ingested\"\n");
    let _ = writeln!(t, "query = {}", basic_string(query));
    t
}

fn threat(t: &mut String) {
    t.push_str("[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n");
    for (id, name) in TECHNIQUES {
        t.push_str("[[rule.threat.technique]]\n");
        let _ = writeln!(t, "id = \"{id}\"\nname = \"{name}\"");
        let _ = writeln!(
            t,
            "reference = \"https://attack.mitre.org/techniques/{id}/\""
        );
    }
    t.push_str("\n[rule.threat.tactic]\n");
    let _ = writeln!(t, "id = \"{}\"\nname = \"{}\"", TACTIC.0, TACTIC.1);
    let _ = writeln!(
        t,
        "reference = \"https://attack.mitre.org/tactics/{}/\"\n",
        TACTIC.0
    );
}

/// `now-10d`, `now-36h`, or seconds when the window is not whole hours.
pub fn history_window(secs: i64) -> String {
    if secs % 86_400 == 0 {
        format!("now-{}d", secs / 86_400)
    } else if secs % 3_600 == 0 {
        format!("now-{}h", secs / 3_600)
    } else if secs % 60 == 0 {
        format!("now-{}m", secs / 60)
    } else {
        format!("now-{secs}s")
    }
}

/// Provider, action, ASN and the exclusions and allowlists: what makes a candidate.
fn candidate_query(config: &Config) -> String {
    let mut parts = vec![
        "event.dataset:aws.cloudtrail".to_owned(),
        one_of("event.provider", &rule_model::provider_names(config)),
    ];
    let mut actions = one_of("event.action", &config.actions);
    if let Some(pattern) = rule_model::versioned_action_pattern(&config.actions) {
        actions = format!("({actions} OR event.action:/{}/)", lucene_regex(&pattern));
    }
    parts.push(actions);
    let numbers: Vec<String> = rule_model::asn_numbers(config)
        .iter()
        .map(u32::to_string)
        .collect();
    let mut vpn = format!("source.as.number:({})", numbers.join(" OR "));
    // Local VPN ranges (add_vpn_cidrs) count whatever the source's ASN.
    let ranges: Vec<String> = rule_model::local_ranges(config)
        .iter()
        .map(|net| format!("source.ip:{}", lucene_term(net)))
        .collect();
    if !ranges.is_empty() {
        vpn = format!("({vpn} OR {})", ranges.join(" OR "));
    }
    parts.push(vpn);
    parts.push("aws.cloudtrail.user_identity.arn:?*".to_owned());
    parts.push("NOT aws.cloudtrail.user_identity.type:AWSService".to_owned());
    for s in &config.excluded_principal_substrings {
        parts.push(format!(
            "NOT aws.cloudtrail.user_identity.arn:*{}*",
            lucene_term(s)
        ));
    }
    for g in &config.allow_principals {
        parts.push(format!(
            "NOT aws.cloudtrail.user_identity.arn:{}",
            lucene_wildcard(g.as_str())
        ));
    }
    if !config.allow_accounts.is_empty() {
        parts.push(format!(
            "NOT {}",
            one_of("cloud.account.id", &config.allow_accounts)
        ));
    }
    for net in &config.allow_cidrs {
        parts.push(format!("NOT source.ip:{}", lucene_term(&net.to_string())));
    }
    parts.join(" AND ")
}

/// Workload principals (rule B), as a parenthesised Lucene clause.
fn workload_query(config: &Config) -> String {
    let arn = "aws.cloudtrail.user_identity.arn";
    let role = "aws.cloudtrail.user_identity.session_context.session_issuer.user_name";
    let mut kinds = vec![format!(
        "{arn}:/.*:assumed-role\\/[^\\/]+\\/(.*\\/)?i-([0-9a-fA-F]{{8}}|[0-9a-fA-F]{{17}})/"
    )];
    for pattern in &config.workload_role_patterns {
        let p = lucene_wildcard(pattern.as_str());
        kinds.push(format!("{role}:{p}"));
        kinds.push(format!(
            "(NOT {role}:?* AND {arn}:{})",
            lucene_wildcard(&rule_model::arn_role_pattern(pattern.as_str()))
        ));
    }
    format!(
        "((aws.cloudtrail.user_identity.type:AssumedRole OR {arn}:*\\:assumed\\-role\\/*) AND ({}))",
        kinds.join(" OR ")
    )
}

fn one_of(field: &str, values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| lucene_phrase(v)).collect();
    format!("{field}:({})", quoted.join(" OR "))
}

/// A quoted Lucene phrase.
fn lucene_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A Lucene term with every special character escaped.
fn lucene_term(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if "+-=&|><!(){}[]^\"~*?:\\/ ".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A vpnrecon glob (`*`, `?`) as a Lucene wildcard term.
fn lucene_wildcard(glob: &str) -> String {
    glob.split('*')
        .map(|part| {
            part.split('?')
                .map(lucene_term)
                .collect::<Vec<_>>()
                .join("?")
        })
        .collect::<Vec<_>>()
        .join("*")
}

/// A regular expression for Lucene's `/…/` syntax: whole-field match already, `/`
/// escaped; `(?:` groups become plain groups (Lucene has no non-capturing syntax).
fn lucene_regex(pattern: &str) -> String {
    pattern.replace("(?:", "(").replace('/', "\\/")
}

/// A TOML basic string.
fn basic_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_windows() {
        assert_eq!(history_window(864_000), "now-10d");
        assert_eq!(history_window(3_600), "now-1h");
        assert_eq!(history_window(5_400), "now-90m");
        assert_eq!(history_window(45), "now-45s");
    }

    #[test]
    fn wildcards_keep_their_meaning_and_escape_the_rest() {
        assert_eq!(
            lucene_wildcard("arn:aws:iam::1:user/pen test-*"),
            "arn\\:aws\\:iam\\:\\:1\\:user\\/pen\\ test\\-*"
        );
        assert_eq!(lucene_wildcard("a?b"), "a?b");
    }
}
