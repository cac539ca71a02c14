//! `vpnrecon export-sigma DIR [--config FILE]`: the two detections as Sigma rules,
//! from the active configuration, in two field flavours:
//!
//! * `DIR/ecs/<rule-id>.yml` — ECS names (`event.action`, `source.as.number`, …) for
//!   SIEMs that enrich source addresses with their ASN;
//! * `DIR/cloudtrail/<rule-id>.yml` — raw CloudTrail names, with the VPN ASNs
//!   written out as `sourceIPAddress|cidr` lists from the baked ASN table.
//!
//! Each rule states what Sigma cannot express (rule A's first-seen window, rule B's
//! hourly deduplication) and where to get it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use vpnrecon_filter::config::Config;
use vpnrecon_filter::rules::Rule;

use crate::rule_model::{self, RULES, TACTIC, TECHNIQUES};

/// Default cap on the CIDR list of the raw-CloudTrail flavour.
pub const DEFAULT_MAX_CIDRS: usize = 20_000;

#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Directory to write `ecs/` and `cloudtrail/` into (created if missing).
    pub dir: PathBuf,
    /// vpnrecon.toml to build the rules from (default: the built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Refuse to write the raw-CloudTrail flavour when the VPN ASNs expand to more
    /// CIDR blocks than this (SIEM query size limits).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CIDRS)]
    pub max_cidrs: usize,
}

/// Field names of one flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Ecs,
    CloudTrail,
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Ecs => "ecs",
            Flavour::CloudTrail => "cloudtrail",
        }
    }

    fn provider(self) -> &'static str {
        match self {
            Flavour::Ecs => "event.provider",
            Flavour::CloudTrail => "eventSource",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Flavour::Ecs => "event.action",
            Flavour::CloudTrail => "eventName",
        }
    }

    fn source_ip(self) -> &'static str {
        match self {
            Flavour::Ecs => "source.ip",
            Flavour::CloudTrail => "sourceIPAddress",
        }
    }

    fn arn(self) -> &'static str {
        match self {
            Flavour::Ecs => "aws.cloudtrail.user_identity.arn",
            Flavour::CloudTrail => "userIdentity.arn",
        }
    }

    fn identity_type(self) -> &'static str {
        match self {
            Flavour::Ecs => "aws.cloudtrail.user_identity.type",
            Flavour::CloudTrail => "userIdentity.type",
        }
    }

    fn role_name(self) -> &'static str {
        match self {
            Flavour::Ecs => "aws.cloudtrail.user_identity.session_context.session_issuer.user_name",
            Flavour::CloudTrail => "userIdentity.sessionContext.sessionIssuer.userName",
        }
    }
}

/// The VPN ASNs as CIDR blocks, with the counts the command reports.
#[derive(Clone, Debug, Default)]
pub struct CidrList {
    pub blocks: Vec<String>,
    pub v4: usize,
    pub v6: usize,
    /// Configured ASNs the baked table holds no range for.
    pub asns_without_ranges: Vec<u32>,
}

/// Expands the configured VPN ASNs into CIDR blocks from the baked table.
pub fn vpn_cidrs(config: &Config) -> Result<CidrList, String> {
    let table = asn_data::baked()
        .ok_or("this build has no valid baked ASN table, so ASNs cannot be expanded")?;
    let asns = rule_model::asn_numbers(config);
    let ranges = table.ranges_held_by(&asns);
    let mut list = CidrList::default();
    for range in &ranges {
        for block in range.cidrs() {
            if block.v6 {
                list.v6 += 1;
            } else {
                list.v4 += 1;
            }
            list.blocks.push(block.to_string());
        }
    }
    list.asns_without_ranges = asns
        .into_iter()
        .filter(|asn| !ranges.iter().any(|r| r.asn == *asn))
        .collect();
    Ok(list)
}

/// Writes both flavours of both rules; returns a summary for standard error.
pub fn run(args: &Args) -> Result<String, String> {
    let (config, file) = rule_model::load(args.config.as_deref())?;
    let cidrs = vpn_cidrs(&config)?;
    if cidrs.blocks.len() > args.max_cidrs {
        return Err(format!(
            "the {} VPN ASNs expand to {} CIDR blocks ({} IPv4, {} IPv6), more than --max-cidrs {}; raise --max-cidrs, remove ASNs, or use the ecs rules with ASN enrichment (no rule was written)",
            config.vpn_asns.len(),
            cidrs.blocks.len(),
            cidrs.v4,
            cidrs.v6,
            args.max_cidrs
        ));
    }
    let date = asn_data::baked()
        .map(|t| t.header().build_date.to_owned())
        .unwrap_or_default();
    let mut written = Vec::new();
    for flavour in [Flavour::Ecs, Flavour::CloudTrail] {
        let dir = args.dir.join(flavour.name());
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for rule in RULES.into_iter().filter(|r| enabled(*r, &config)) {
            let text = render(rule, flavour, &config, &cidrs, &date);
            let path = dir.join(format!("{}.yml", rule.id()));
            write(&path, &text)?;
            written.push(path.display().to_string());
        }
    }
    let mut summary = format!(
        "wrote {} Sigma rules from {}:\n",
        written.len(),
        file.as_deref().unwrap_or("the built-in defaults")
    );
    for path in &written {
        let _ = writeln!(summary, "  {path}");
    }
    let _ = writeln!(
        summary,
        "cloudtrail flavour: {} VPN ASNs expand to {} CIDR blocks ({} IPv4, {} IPv6; cap --max-cidrs {})",
        config.vpn_asns.len(),
        cidrs.blocks.len(),
        cidrs.v4,
        cidrs.v6,
        args.max_cidrs
    );
    if !cidrs.asns_without_ranges.is_empty() {
        let _ = writeln!(
            summary,
            "note: the baked ASN table holds no range for AS {}; the cloudtrail rules cannot match them",
            join_numbers(&cidrs.asns_without_ranges)
        );
    }
    Ok(summary)
}

/// A rule switched off in the configuration (`rule_discovery`, `rule_workload`) is
/// not exported, as the module does not run it.
fn enabled(rule: Rule, config: &Config) -> bool {
    match rule {
        Rule::DiscoveryNewIdentity => config.rule_discovery,
        Rule::Workload => config.rule_workload,
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn join_numbers(numbers: &[u32]) -> String {
    numbers
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One Sigma rule as YAML.
pub fn render(
    rule: Rule,
    flavour: Flavour,
    config: &Config,
    cidrs: &CidrList,
    date: &str,
) -> String {
    let mut y = String::with_capacity(4096 + cidrs.blocks.len() * 24);
    let _ = writeln!(y, "title: {}", quoted(&title(rule, flavour)));
    let _ = writeln!(y, "id: {}", rule_model::stable_id(rule, flavour.name()));
    y.push_str("status: experimental\n");
    let _ = writeln!(
        y,
        "description: {}",
        quoted(&description(rule, flavour, config, cidrs))
    );
    y.push_str("references:\n");
    let _ = writeln!(y, "    - {}", quoted(rule_model::ELASTIC_RULE_URL));
    y.push_str("author: vpnrecon\n");
    if !date.is_empty() {
        let _ = writeln!(y, "date: {date}");
    }
    y.push_str("tags:\n");
    let _ = writeln!(y, "    - attack.{}", TACTIC.1.to_ascii_lowercase());
    for (id, _) in TECHNIQUES {
        let _ = writeln!(y, "    - attack.{}", id.to_ascii_lowercase());
    }
    y.push_str("logsource:\n    product: aws\n    service: cloudtrail\n");
    y.push_str("detection:\n");
    let f = flavour;
    selection(
        &mut y,
        "provider",
        f.provider(),
        "",
        &rule_model::provider_names(config),
    );
    selection(&mut y, "action", f.action(), "", &config.actions);
    let versioned = rule_model::versioned_action_pattern(&config.actions);
    if let Some(pattern) = &versioned {
        selection(
            &mut y,
            "action_versioned",
            f.action(),
            "|re",
            std::slice::from_ref(pattern),
        );
    }
    match flavour {
        Flavour::Ecs => {
            let numbers: Vec<String> = rule_model::asn_numbers(config)
                .iter()
                .map(u32::to_string)
                .collect();
            selection_raw(&mut y, "vpn_source", "source.as.number", "", &numbers);
        }
        Flavour::CloudTrail => {
            selection(&mut y, "vpn_source", f.source_ip(), "|cidr", &cidrs.blocks);
        }
    }
    // Local VPN ranges count whatever the source's ASN.
    let ranges = rule_model::local_ranges(config);
    if !ranges.is_empty() {
        selection(&mut y, "vpn_local_range", f.source_ip(), "|cidr", &ranges);
    }
    let vpn = if ranges.is_empty() {
        "vpn_source"
    } else {
        "1 of vpn_*"
    };
    // The principal must be named: an absent ARN is null, an empty one ''.
    let _ = writeln!(y, "    principal_missing:\n        {}: null", f.arn());
    let _ = writeln!(y, "    principal_empty:\n        {}: ''", f.arn());
    let _ = writeln!(
        y,
        "    aws_service:\n        {}: AWSService",
        f.identity_type()
    );
    let mut filters = vec!["principal_missing", "principal_empty", "aws_service"];
    if !config.excluded_principal_substrings.is_empty() {
        selection(
            &mut y,
            "principal_excluded",
            f.arn(),
            "|contains",
            &config.excluded_principal_substrings,
        );
        filters.push("principal_excluded");
    }
    if !config.allow_principals.is_empty() {
        glob_selection(
            &mut y,
            "allowed_principal",
            f.arn(),
            &rule_model::glob_texts(&config.allow_principals),
        );
        filters.push("allowed_principal");
    }
    if !config.allow_accounts.is_empty() {
        match flavour {
            Flavour::Ecs => {
                selection(
                    &mut y,
                    "allowed_account",
                    "cloud.account.id",
                    "",
                    &config.allow_accounts,
                );
            }
            Flavour::CloudTrail => {
                // CloudTrail's account is userIdentity.accountId, else recipientAccountId.
                y.push_str("    allowed_account:\n");
                list(
                    &mut y,
                    "userIdentity.accountId",
                    "",
                    &config.allow_accounts,
                    2,
                );
                y.push_str("    allowed_account_recipient:\n");
                y.push_str("        userIdentity.accountId: null\n");
                list(&mut y, "recipientAccountId", "", &config.allow_accounts, 2);
                filters.push("allowed_account_recipient");
            }
        }
        filters.push("allowed_account");
    }
    if !config.allow_cidrs.is_empty() {
        let nets: Vec<String> = config.allow_cidrs.iter().map(|n| n.to_string()).collect();
        selection(&mut y, "allowed_network", f.source_ip(), "|cidr", &nets);
        filters.push("allowed_network");
    }
    // Workload principals (rule B; rule A leaves them out).
    y.push_str("    assumed_role_type:\n");
    let _ = writeln!(y, "        {}: AssumedRole", f.identity_type());
    y.push_str("    assumed_role_arn:\n");
    let _ = writeln!(y, "        {}|contains: ':assumed-role/'", f.arn());
    let instance: Vec<String> = rule_model::INSTANCE_SESSION_PATTERNS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    selection(&mut y, "instance_session", f.arn(), "", &instance);
    let roles = rule_model::glob_texts(&config.workload_role_patterns);
    let mut workload_parts = vec!["instance_session"];
    if !roles.is_empty() {
        glob_selection(&mut y, "workload_role", f.role_name(), &roles);
        let _ = writeln!(y, "    role_name_missing:\n        {}: null", f.role_name());
        let _ = writeln!(y, "    role_name_empty:\n        {}: ''", f.role_name());
        let arn_roles: Vec<String> = roles
            .iter()
            .map(|r| rule_model::arn_role_pattern(r))
            .collect();
        selection(&mut y, "workload_role_in_arn", f.arn(), "", &arn_roles);
        workload_parts.push("workload_role");
        workload_parts.push("(1 of role_name_* and workload_role_in_arn)");
    }
    let workload = format!(
        "(1 of assumed_role_* and ({}))",
        workload_parts.join(" or ")
    );
    let actions = if versioned.is_some() {
        "1 of action*"
    } else {
        "action"
    };
    let base = format!(
        "provider and {actions} and {vpn} and not ({})",
        filters.join(" or ")
    );
    let condition = match rule {
        Rule::DiscoveryNewIdentity => format!("{base} and not {workload}"),
        Rule::Workload => format!("{base} and {workload}"),
    };
    let _ = writeln!(y, "    condition: {}", quoted(&condition));
    y.push_str("falsepositives:\n");
    y.push_str("    - Administrators or CI using a commercial VPN or VPN-heavy hosting; allowlist them in vpnrecon.toml and export again\n");
    let _ = writeln!(y, "level: {}", rule.severity());
    y
}

fn title(rule: Rule, flavour: Flavour) -> String {
    let what = match rule {
        Rule::DiscoveryNewIdentity => {
            "AWS discovery API call from a VPN ASN (candidate for first-seen by identity)"
        }
        Rule::Workload => "AWS discovery API call from a VPN ASN by workload credentials",
    };
    let fields = match flavour {
        Flavour::Ecs => "ECS",
        Flavour::CloudTrail => "CloudTrail",
    };
    format!("{what} ({fields} fields)")
}

fn description(rule: Rule, flavour: Flavour, config: &Config, cidrs: &CidrList) -> String {
    let mut d = format!(
        "vpnrecon rule {} ({}), exported from the vpnrecon configuration. {} {}",
        rule.id(),
        rule.name(),
        rule_model::limits_text(rule),
        rule_model::SIGMA_LIMITS
    );
    if !config.vpn_ranges.is_empty() {
        let _ = write!(
            d,
            " Besides the ASN list, {} local VPN ranges (add_vpn_cidrs) count as VPN sources: {}.",
            config.vpn_ranges.len(),
            config
                .vpn_ranges
                .iter()
                .map(|r| format!("{} ({})", r.net, r.label))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    match flavour {
        Flavour::Ecs => d.push_str(
            " Needs source.as.number on every event (ASN enrichment of source.ip); vpnrecon uses its baked table, the SIEM's own ASN database may differ.",
        ),
        Flavour::CloudTrail => {
            let _ = write!(
                d,
                " The {} VPN ASNs are written out as {} CIDR blocks ({} IPv4, {} IPv6) from vpnrecon's baked ASN table; refresh the export when the table changes. An IPv4-mapped IPv6 source (::ffff:a.b.c.d) is matched by the module as IPv4 but not by these blocks.",
                config.vpn_asns.len(),
                cidrs.blocks.len(),
                cidrs.v4,
                cidrs.v6
            );
        }
    }
    d
}

/// A named selection of one field against a list of values.
fn selection(y: &mut String, name: &str, field: &str, modifier: &str, values: &[String]) {
    let _ = writeln!(y, "    {name}:");
    list(y, field, modifier, values, 2);
}

/// A named selection of one field against `*`/`?` patterns. A pattern whose only
/// wildcards are a leading and/or trailing `*` is written with Sigma's `contains`,
/// `startswith` or `endswith` modifier (the same meaning, and what Sigma's
/// validators ask for); any other pattern as a wildcard value.
fn glob_selection(y: &mut String, name: &str, field: &str, patterns: &[String]) {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for pattern in patterns {
        let (modifier, value) = glob_modifier(pattern);
        match groups.iter_mut().find(|(m, _)| *m == modifier) {
            Some((_, values)) => values.push(value),
            None => groups.push((modifier, vec![value])),
        }
    }
    let _ = writeln!(y, "    {name}:");
    for (modifier, values) in &groups {
        let _ = writeln!(y, "        - {field}{modifier}:");
        for v in values {
            let _ = writeln!(y, "              - {}", quoted(v));
        }
    }
}

fn glob_modifier(pattern: &str) -> (&'static str, String) {
    let inner = |s: &str| !s.is_empty() && !s.contains(['*', '?']);
    let leading = pattern.strip_prefix('*');
    let both = leading.and_then(|p| p.strip_suffix('*'));
    if let Some(core) = both.filter(|c| inner(c)) {
        return ("|contains", core.to_owned());
    }
    if let Some(core) = leading.filter(|c| inner(c)) {
        return ("|endswith", core.to_owned());
    }
    if let Some(core) = pattern.strip_suffix('*').filter(|c| inner(c)) {
        return ("|startswith", core.to_owned());
    }
    ("", pattern.to_owned())
}

/// As [`selection`], with values written bare (numbers).
fn selection_raw(y: &mut String, name: &str, field: &str, modifier: &str, values: &[String]) {
    let _ = writeln!(y, "    {name}:");
    let _ = writeln!(y, "        {field}{modifier}:");
    for v in values {
        let _ = writeln!(y, "            - {v}");
    }
}

fn list(y: &mut String, field: &str, modifier: &str, values: &[String], depth: usize) {
    let indent = "    ".repeat(depth);
    let _ = writeln!(y, "{indent}{field}{modifier}:");
    for v in values {
        let _ = writeln!(y, "{indent}    - {}", quoted(v));
    }
}

/// A YAML single-quoted scalar: no escapes but `''` for a quote. Sigma reads `*`,
/// `?` and `\` in values itself, so they are left as they are.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::glob_modifier;

    #[test]
    fn simple_globs_become_modifiers() {
        let cases = [
            ("*lambda*", ("|contains", "lambda")),
            ("eks-*", ("|startswith", "eks-")),
            ("*-role", ("|endswith", "-role")),
            ("a*b", ("", "a*b")),
            ("*a?b*", ("", "*a?b*")),
            ("*", ("", "*")),
            ("**", ("", "**")),
            ("exact", ("", "exact")),
        ];
        for (pattern, (modifier, value)) in cases {
            assert_eq!(
                glob_modifier(pattern),
                (modifier, value.to_owned()),
                "{pattern}"
            );
        }
    }
}
