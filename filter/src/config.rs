//! Configuration: built-in defaults (the detection contract's lists), optionally
//! adjusted by `vpnrecon.toml`.
//!
//! Every list with a default can be replaced (`actions = [...]`) or adjusted
//! (`add_actions`, `remove_actions`); adjustments apply after a replacement. Unknown
//! keys are errors, so a typo cannot silently leave a default in force. A file that
//! does not parse or validate is reported once on standard error and the module runs
//! on the defaults, with the error attached to every detection. `CONFIG.md` is the
//! reference for every key.
//!
//! The structures built here are the ones the hot path queries: sorted vectors for
//! actions, providers, ASNs and accounts (binary search), compiled globs and a CIDR
//! list.

use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use ipnet::IpNet;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The configuration file's name, looked for in each pre-opened directory.
pub const FILE_NAME: &str = "vpnrecon.toml";

/// Where `vpnrecon.toml` is looked for, in order: the file in each directory the
/// host pre-opened (Fluent Bit's `accessible_paths`, in the order given; natively,
/// the working directory). Under WASI a path only resolves inside a pre-opened
/// directory, so these are the only places the module could read.
pub fn search_paths() -> Vec<String> {
    crate::abi::preopened_dirs()
        .iter()
        .map(|dir| in_dir(dir, FILE_NAME))
        .collect()
}

/// `dir/name`; a relative `.` directory gives just `name`, so a host that
/// pre-opened `.` resolves it whatever its working directory.
pub fn in_dir(dir: &str, name: &str) -> String {
    if dir.starts_with('/') {
        return format!("{}/{name}", dir.trim_end_matches('/'));
    }
    match dir.trim_end_matches('/') {
        "" | "." => name.to_owned(),
        relative => format!("{relative}/{name}"),
    }
}

/// The directory the journal goes to when `state_dir` is left at `.`: where
/// `vpnrecon.toml` was found, else the first pre-opened directory. Under WASI `.`
/// only exists if the host pre-opened it (Fluent Bit's default), so a deployment
/// that pre-opens `/var/lib/vpnrecon` alone still gets persistent state there.
pub fn default_state_dir(source: &Source) -> String {
    if let Source::File(path) = source {
        if let Some((dir, _)) = path.rsplit_once('/') {
            return if dir.is_empty() {
                "/".to_owned()
            } else {
                dir.to_owned()
            };
        }
        return ".".to_owned();
    }
    crate::abi::preopened_dirs()
        .into_iter()
        .next()
        .unwrap_or_else(|| ".".to_owned())
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn file_names_join_pre_opened_directories() {
        assert_eq!(in_dir(".", "vpnrecon.toml"), "vpnrecon.toml");
        assert_eq!(in_dir("./", "vpnrecon.toml"), "vpnrecon.toml");
        assert_eq!(in_dir("/", "vpnrecon.toml"), "/vpnrecon.toml");
        assert_eq!(in_dir("/var/lib/vpnrecon/", "x"), "/var/lib/vpnrecon/x");
        assert_eq!(in_dir("conf", "x"), "conf/x");
    }

    #[test]
    fn state_follows_the_config_file() {
        let file = |p: &str| default_state_dir(&Source::File(p.to_owned()));
        assert_eq!(file("/var/lib/vpnrecon/vpnrecon.toml"), "/var/lib/vpnrecon");
        assert_eq!(file("vpnrecon.toml"), ".");
        assert_eq!(file("/vpnrecon.toml"), "/");
    }
}

/// Contract section 3: the discovery actions.
pub const DEFAULT_ACTIONS: [&str; 22] = [
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

/// Contract section 3: the providers, as the part before `.amazonaws.com`.
pub const DEFAULT_PROVIDERS: [&str; 10] = [
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

/// Contract section 3: the VPN ASN list. The curated list in `asn_data` carries
/// names and categories for these; this list is the fallback when it is empty.
pub const CONTRACT_VPN_ASNS: [u32; 22] = [
    216025, 57138, 207137, 212238, 199218, 209103, 209854, 141039, 147049, 53314, 60068, 9009,
    20473, 63949, 39351, 51765, 204187, 29066, 206092, 208172, 9002, 49981,
];

/// Contract section 4.
pub const DEFAULT_WORKLOAD_ROLE_PATTERNS: [&str; 5] = [
    "AWSServiceRoleFor*",
    "*lambda*",
    "*ecsTask*",
    "*-task-role*",
    "eks-*",
];

/// Contract section 3: principals never considered (AWS Config's service role).
pub const DEFAULT_EXCLUDED_PRINCIPAL_SUBSTRINGS: [&str; 1] = ["AWSServiceRoleForConfig"];

/// Categories an ASN entry may carry (those of the curated list, plus `custom`).
pub const CATEGORIES: [&str; 5] = ["vpn", "vpn-hosting", "hosting", "transit", "custom"];

/// Sanity bounds: a window beyond ten years or a cap beyond 100 million keys is a
/// mistake, not a setting.
const MAX_WINDOW_SECS: i64 = 3650 * 86_400;
const MAX_KEYS_LIMIT: i64 = 100_000_000;

/// Which identity rule A tracks per (account, identity, ASN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityKey {
    /// Elastic's `user.name` (role name for assumed roles), else the principal ARN.
    User,
    /// The principal ARN (for assumed roles this includes the session name).
    Arn,
    /// The access key id, else the principal ARN.
    AccessKey,
}

impl IdentityKey {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKey::User => "user",
            IdentityKey::Arn => "arn",
            IdentityKey::AccessKey => "access_key",
        }
    }
}

/// One ASN on the detection list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpnAsn {
    pub asn: u32,
    pub category: String,
    pub name: String,
}

/// A compiled `*` / `?` pattern. `*` matches any run of characters (also none), `?`
/// exactly one character; everything else matches itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    source: String,
    pattern: Vec<u8>,
    case_insensitive: bool,
}

impl Glob {
    pub fn new(pattern: &str, case_insensitive: bool) -> Glob {
        let bytes = if case_insensitive {
            pattern.to_ascii_lowercase().into_bytes()
        } else {
            pattern.as_bytes().to_vec()
        };
        Glob {
            source: pattern.to_owned(),
            pattern: bytes,
            case_insensitive,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, text: &str) -> bool {
        self.matches_counting(text, &mut 0)
    }

    /// The matcher, counting loop steps (tests use this to show the cost stays near
    /// linear). Iterative two-pointer matching: on a mismatch only the most recent
    /// `*` is retried one character further, which is enough because an earlier `*`
    /// can never need to absorb more once a later literal run has matched.
    pub fn matches_counting(&self, text: &str, steps: &mut u64) -> bool {
        let p = &self.pattern;
        let t = text.as_bytes();
        let (mut pi, mut ti) = (0usize, 0usize);
        // (pattern index after the star, text index the star's match ends at)
        let mut star: Option<(usize, usize)> = None;
        while let Some(&tc) = t.get(ti) {
            *steps += 1;
            match p.get(pi) {
                Some(b'*') => {
                    pi += 1;
                    star = Some((pi, ti));
                    continue;
                }
                Some(b'?') => {
                    pi += 1;
                    ti += utf8_len(tc);
                    continue;
                }
                Some(&pc) if pc == self.fold(tc) => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
            let Some((after_star, star_end)) = star else {
                return false;
            };
            let Some(&skipped) = t.get(star_end) else {
                return false;
            };
            let next = star_end + utf8_len(skipped);
            star = Some((after_star, next));
            pi = after_star;
            ti = next;
        }
        while p.get(pi) == Some(&b'*') {
            pi += 1;
        }
        pi == p.len()
    }

    fn fold(&self, b: u8) -> u8 {
        if self.case_insensitive {
            b.to_ascii_lowercase()
        } else {
            b
        }
    }
}

/// Bytes in the UTF-8 character starting with `lead` (1 for a stray continuation
/// byte, which cannot start a character of a valid `&str` anyway).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Everything the rules need to know, defaults baked in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Sorted by ASN, unique.
    pub vpn_asns: Vec<VpnAsn>,
    /// Normalised action names, sorted, unique.
    pub actions: Vec<String>,
    /// Provider short names (`sts` for `sts.amazonaws.com`), sorted, unique.
    pub providers: Vec<String>,
    /// ARN globs, case-sensitive.
    pub allow_principals: Vec<Glob>,
    /// 12-digit account ids, sorted.
    pub allow_accounts: Vec<String>,
    pub allow_cidrs: Vec<IpNet>,
    pub window_secs: i64,
    pub identity_key: IdentityKey,
    /// Role-name globs, case-insensitive.
    pub workload_role_patterns: Vec<Glob>,
    /// Case-sensitive substrings of the principal ARN.
    pub excluded_principal_substrings: Vec<String>,
    pub max_keys: usize,
    pub journal_resolution_secs: i64,
    /// Directory of `vpnrecon.journal`; empty = memory only.
    pub state_dir: String,
    pub enrich_all: bool,
    /// Rule A (`vpnrecon-discovery-vpn-new-identity`) enabled.
    pub rule_discovery: bool,
    /// Rule B (`vpnrecon-discovery-vpn-workload`) enabled.
    pub rule_workload: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            vpn_asns: default_vpn_asns(),
            actions: sorted_unique(DEFAULT_ACTIONS.iter().map(|s| (*s).to_owned())),
            providers: sorted_unique(DEFAULT_PROVIDERS.iter().map(|s| (*s).to_owned())),
            allow_principals: Vec::new(),
            allow_accounts: Vec::new(),
            allow_cidrs: Vec::new(),
            window_secs: 10 * 86_400,
            identity_key: IdentityKey::User,
            workload_role_patterns: DEFAULT_WORKLOAD_ROLE_PATTERNS
                .iter()
                .map(|p| Glob::new(p, true))
                .collect(),
            excluded_principal_substrings: DEFAULT_EXCLUDED_PRINCIPAL_SUBSTRINGS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            max_keys: 1_000_000,
            journal_resolution_secs: 3_600,
            state_dir: ".".to_owned(),
            enrich_all: false,
            rule_discovery: true,
            rule_workload: true,
        }
    }
}

/// The enabled entries of the curated list, or the contract's list (category `vpn`)
/// while the curated list is empty.
pub fn default_vpn_asns() -> Vec<VpnAsn> {
    let curated: Vec<VpnAsn> = asn_data::curated::list()
        .into_iter()
        .filter(|c| c.enabled)
        .map(|c| VpnAsn {
            asn: c.asn,
            category: c.category.as_str().to_owned(),
            name: c.name,
        })
        .collect();
    let mut list = if curated.is_empty() {
        CONTRACT_VPN_ASNS
            .iter()
            .map(|&asn| VpnAsn {
                asn,
                category: "vpn".to_owned(),
                name: String::new(),
            })
            .collect()
    } else {
        curated
    };
    list.sort_by_key(|a| a.asn);
    list.dedup_by_key(|a| a.asn);
    list
}

/// Name and category for an ASN added by number: the curated list's (enabled or
/// not), else `custom`.
fn describe_asn(asn: u32) -> VpnAsn {
    asn_data::curated::list()
        .into_iter()
        .find(|c| c.asn == asn)
        .map(|c| VpnAsn {
            asn,
            category: c.category.as_str().to_owned(),
            name: c.name,
        })
        .or_else(|| {
            CONTRACT_VPN_ASNS.contains(&asn).then(|| VpnAsn {
                asn,
                category: "vpn".to_owned(),
                name: String::new(),
            })
        })
        .unwrap_or(VpnAsn {
            asn,
            category: "custom".to_owned(),
            name: String::new(),
        })
}

fn sorted_unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = items.collect();
    v.sort();
    v.dedup();
    v
}

impl Config {
    /// Is this action (raw or normalised) on the list?
    pub fn has_action(&self, action: &[u8]) -> bool {
        let name = crate::prefilter::normalise_bytes(action);
        self.actions
            .binary_search_by(|a| a.as_bytes().cmp(name))
            .is_ok()
    }

    /// `eventSource` such as `sts.amazonaws.com`.
    pub fn has_provider(&self, provider: &str) -> bool {
        let Some(short) = provider.strip_suffix(".amazonaws.com") else {
            return false;
        };
        self.providers
            .binary_search_by(|p| p.as_str().cmp(short))
            .is_ok()
    }

    pub fn vpn_asn(&self, asn: u32) -> Option<&VpnAsn> {
        self.vpn_asns
            .binary_search_by_key(&asn, |a| a.asn)
            .ok()
            .and_then(|i| self.vpn_asns.get(i))
    }

    /// The list category of an ASN on the list (`None` = not on the list).
    pub fn vpn_category(&self, asn: u32) -> Option<&str> {
        self.vpn_asn(asn).map(|a| a.category.as_str())
    }

    pub fn is_excluded_principal(&self, arn: &str) -> bool {
        self.excluded_principal_substrings
            .iter()
            .any(|s| arn.contains(s.as_str()))
    }

    /// Approved principal, account or source network: no detection.
    pub fn is_allowlisted(&self, arn: &str, account: Option<&str>, ip: IpAddr) -> bool {
        self.allow_principals.iter().any(|g| g.matches(arn))
            || account.is_some_and(|a| {
                self.allow_accounts
                    .binary_search_by(|x| x.as_str().cmp(a))
                    .is_ok()
            })
            || self.allows_ip(ip)
    }

    /// IPv4-mapped IPv6 addresses are checked as IPv4.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allow_cidrs.iter().any(|net| net.contains(&ip))
    }

    /// Role name (session issuer user name) against the workload patterns,
    /// ignoring ASCII case: IAM role names are unique regardless of case.
    pub fn is_workload_role(&self, role_name: &str) -> bool {
        self.workload_role_patterns
            .iter()
            .any(|g| g.matches(role_name))
    }

    pub fn vpn_asn_count(&self) -> usize {
        self.vpn_asns.len()
    }

    pub fn action_count(&self) -> usize {
        self.actions.len()
    }
}

// ---------------------------------------------------------------------------
// Errors

/// A problem with the configuration file, located as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
    /// What to write instead, when there is something specific to say.
    pub fix: Option<String>,
}

impl ConfigError {
    /// The problem without the `vpnrecon:` prefix and the fallback note: for
    /// marking detections.
    pub fn describe(&self) -> String {
        let mut out = self.file.clone();
        if let Some(line) = self.line {
            out.push_str(&format!(" line {line}"));
        }
        if let Some(key) = &self.key {
            out.push_str(&format!(", key \"{key}\""));
        }
        out.push_str(": ");
        out.push_str(&self.message);
        if let Some(fix) = &self.fix {
            out.push_str(&format!(" ({fix})"));
        }
        out
    }
}

/// One line: `vpnrecon: config error in FILE line N, key "K": MESSAGE (FIX); using
/// built-in defaults`.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "vpnrecon: config error in {}; using built-in defaults",
            self.describe()
        )
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------
// Loading

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Defaults,
    File(String),
}

/// The configuration in force and where it came from. With an error, `config` is
/// the defaults and `source` is `Defaults`; the error names the file.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub source: Source,
    pub error: Option<ConfigError>,
}

impl Default for Loaded {
    fn default() -> Self {
        Loaded {
            config: Config::default(),
            source: Source::Defaults,
            error: None,
        }
    }
}

/// Finds `vpnrecon.toml` (see [`search_paths`]); on error, prints the one-line
/// message to standard error and falls back to the defaults.
pub fn load() -> Loaded {
    let paths = search_paths();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    load_from(&paths, &mut |line| eprintln!("{line}"))
}

/// [`load`] over explicit candidate paths, with the warning sent to `log`.
///
/// When a file is found, `state_dir` comes back resolved: `.` becomes the file's
/// own directory. A file with an error still decides where state lives (its
/// `state_dir` when that value is itself valid, else its own directory), so a typo
/// neither loses nor moves the history; only the rules fall back to the defaults.
pub fn load_from(paths: &[&str], log: &mut dyn FnMut(&str)) -> Loaded {
    for path in paths {
        let text = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                let error = ConfigError {
                    file: (*path).to_owned(),
                    line: None,
                    key: None,
                    message: format!("cannot read the file: {e}"),
                    fix: Some("check that it is a readable file".to_owned()),
                };
                return failed(error, path, None, log);
            }
        };
        let text = match String::from_utf8(text) {
            Ok(text) => text,
            Err(e) => {
                let error = ConfigError {
                    file: (*path).to_owned(),
                    line: None,
                    key: None,
                    message: format!(
                        "not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                    fix: Some("save the file as UTF-8".to_owned()),
                };
                return failed(error, path, None, log);
            }
        };
        return match parse(&text, path) {
            Ok(mut config) => {
                config.state_dir = resolve_state_dir(&config.state_dir, path);
                Loaded {
                    config,
                    source: Source::File((*path).to_owned()),
                    error: None,
                }
            }
            Err(error) => failed(error, path, Some(&text), log),
        };
    }
    Loaded::default()
}

/// The defaults, the error, and state where the file at `path` puts it.
fn failed(error: ConfigError, path: &str, text: Option<&str>, log: &mut dyn FnMut(&str)) -> Loaded {
    log(&error.to_string());
    let state_dir = text
        .and_then(state_dir_in)
        .unwrap_or_else(|| ".".to_owned());
    Loaded {
        config: Config {
            state_dir: resolve_state_dir(&state_dir, path),
            ..Config::default()
        },
        source: Source::Defaults,
        error: Some(error),
    }
}

/// The file's `state_dir` if that value is valid (a string), read from as much of
/// the file as parses.
fn state_dir_in(text: &str) -> Option<String> {
    let (doc, _errors) = DeTable::parse_recoverable(text);
    match doc.get_ref().get("state_dir").map(Spanned::get_ref) {
        Some(DeValue::String(dir)) => Some(dir.to_string()),
        _ => None,
    }
}

/// `state_dir` as written in the file at `path`: `.` is the file's directory.
fn resolve_state_dir(state_dir: &str, path: &str) -> String {
    if state_dir == "." {
        default_state_dir(&Source::File(path.to_owned()))
    } else {
        state_dir.to_owned()
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// Every key `vpnrecon.toml` may hold.
pub const KEYS: [&str; 26] = [
    "asns",
    "add_asns",
    "remove_asns",
    "actions",
    "add_actions",
    "remove_actions",
    "providers",
    "add_providers",
    "remove_providers",
    "allow_principals",
    "allow_accounts",
    "allow_cidrs",
    "window",
    "identity_key",
    "workload_role_patterns",
    "add_workload_role_patterns",
    "remove_workload_role_patterns",
    "excluded_principal_substrings",
    "add_excluded_principal_substrings",
    "remove_excluded_principal_substrings",
    "max_keys",
    "journal_resolution",
    "state_dir",
    "enrich_all",
    "rule_discovery",
    "rule_workload",
];

type Value<'a> = Spanned<DeValue<'a>>;

/// Parses and validates `text` (the contents of `path`, used in messages).
pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
    let doc = DeTable::parse(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        ConfigError {
            file: path.to_owned(),
            line,
            key: None,
            message: format!("not valid TOML: {}", e.message().trim_end()),
            fix: None,
        }
    })?;
    let parser = Parser { text, path };
    let table = doc.get_ref();
    for (key, _) in table.iter() {
        let name: &str = key.get_ref();
        if !KEYS.contains(&name) {
            return Err(parser.error(
                key.span(),
                name,
                format!("unknown key \"{name}\""),
                Some(match closest(name, &KEYS) {
                    Some(known) => format!("did you mean \"{known}\"?"),
                    None => "remove it; CONFIG.md lists every key".to_owned(),
                }),
            ));
        }
    }
    let get = |name: &str| table.get(name);
    let mut config = Config::default();

    // ASNs.
    if let Some(v) = get("asns") {
        let mut list = Vec::new();
        for item in parser.array(v, "asns")? {
            list.push(parser.asn_entry(item, "asns")?);
        }
        config.vpn_asns = list;
    }
    if let Some(v) = get("add_asns") {
        for item in parser.array(v, "add_asns")? {
            let entry = parser.asn_entry(item, "add_asns")?;
            config.vpn_asns.retain(|a| a.asn != entry.asn);
            config.vpn_asns.push(entry);
        }
    }
    config.vpn_asns.sort_by_key(|a| a.asn);
    config.vpn_asns.dedup_by_key(|a| a.asn);
    if let Some(v) = get("remove_asns") {
        for item in parser.array(v, "remove_asns")? {
            let asn = parser.asn_number(item, "remove_asns")?;
            let before = config.vpn_asns.len();
            config.vpn_asns.retain(|a| a.asn != asn);
            if config.vpn_asns.len() == before {
                return Err(parser.error(
                    item.span(),
                    "remove_asns",
                    format!("AS{asn} is not on the VPN ASN list"),
                    Some("check the number; removing it is not needed".to_owned()),
                ));
            }
        }
    }

    // Actions and providers.
    config.actions = parser.string_list(
        &get,
        ("actions", "add_actions", "remove_actions"),
        config.actions,
        &|s| parser_action(s),
    )?;
    config.providers = parser.string_list(
        &get,
        ("providers", "add_providers", "remove_providers"),
        config.providers,
        &|s| parser_provider(s),
    )?;
    config.actions.sort();
    config.actions.dedup();
    config.providers.sort();
    config.providers.dedup();

    // Allowlists.
    if let Some(v) = get("allow_principals") {
        let mut globs = Vec::new();
        for item in parser.array(v, "allow_principals")? {
            let s = parser.string(
                item,
                "allow_principals",
                "an ARN pattern like \"arn:aws:iam::111122223333:role/scanner*\"",
            )?;
            globs.push(Glob::new(s, false));
        }
        config.allow_principals = globs;
    }
    if let Some(v) = get("allow_accounts") {
        let mut accounts = Vec::new();
        for item in parser.array(v, "allow_accounts")? {
            if matches!(item.get_ref(), DeValue::Integer(_)) {
                return Err(parser.error(
                    item.span(),
                    "allow_accounts",
                    "account ids must be quoted strings".to_owned(),
                    Some(
                        "write e.g. \"012345678901\": a number would lose leading zeros".to_owned(),
                    ),
                ));
            }
            let s = parser.string(item, "allow_accounts", "a 12-digit account id in quotes")?;
            if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(parser.error(
                    item.span(),
                    "allow_accounts",
                    format!("expected a 12-digit account id, got \"{s}\""),
                    None,
                ));
            }
            accounts.push(s.to_owned());
        }
        config.allow_accounts = sorted_unique(accounts.into_iter());
    }
    if let Some(v) = get("allow_cidrs") {
        let mut nets = Vec::new();
        for item in parser.array(v, "allow_cidrs")? {
            nets.push(parser.cidr(item)?);
        }
        config.allow_cidrs = nets;
    }

    // Scalars.
    if let Some(v) = get("window") {
        config.window_secs = parser.duration(v, "window", 1)?;
    }
    if let Some(v) = get("journal_resolution") {
        config.journal_resolution_secs = parser.duration(v, "journal_resolution", 0)?;
    }
    if let Some(v) = get("identity_key") {
        let s = parser.string(
            v,
            "identity_key",
            "one of \"user\", \"arn\", \"access_key\"",
        )?;
        config.identity_key = match s {
            "user" => IdentityKey::User,
            "arn" => IdentityKey::Arn,
            "access_key" => IdentityKey::AccessKey,
            other => {
                let choices = ["user", "arn", "access_key"];
                return Err(parser.error(
                    v.span(),
                    "identity_key",
                    format!("expected one of \"user\", \"arn\", \"access_key\", got \"{other}\""),
                    closest(other, &choices).map(|c| format!("did you mean \"{c}\"?")),
                ));
            }
        };
    }
    if let Some(v) = get("max_keys") {
        let n = parser.integer(v, "max_keys")?;
        if !(1..=MAX_KEYS_LIMIT).contains(&n) {
            return Err(parser.error(
                v.span(),
                "max_keys",
                format!("expected a number of keys from 1 to {MAX_KEYS_LIMIT}, got {n}"),
                Some("the default is 1000000 (about 30 MB)".to_owned()),
            ));
        }
        config.max_keys = usize::try_from(n).unwrap_or(1_000_000);
    }
    if let Some(v) = get("state_dir") {
        config.state_dir = parser
            .string(v, "state_dir", "a directory the host pre-opens, e.g. \".\"")?
            .to_owned();
    }
    if let Some(v) = get("enrich_all") {
        config.enrich_all = parser.boolean(v, "enrich_all")?;
    }
    if let Some(v) = get("rule_discovery") {
        config.rule_discovery = parser.boolean(v, "rule_discovery")?;
    }
    if let Some(v) = get("rule_workload") {
        config.rule_workload = parser.boolean(v, "rule_workload")?;
    }

    // Pattern lists.
    let patterns: Vec<String> = config
        .workload_role_patterns
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    let patterns = parser.string_list(
        &get,
        (
            "workload_role_patterns",
            "add_workload_role_patterns",
            "remove_workload_role_patterns",
        ),
        patterns,
        &|s| non_empty(s, "a role-name pattern like \"*-task-role*\""),
    )?;
    config.workload_role_patterns = patterns.iter().map(|p| Glob::new(p, true)).collect();
    config.excluded_principal_substrings = parser.string_list(
        &get,
        (
            "excluded_principal_substrings",
            "add_excluded_principal_substrings",
            "remove_excluded_principal_substrings",
        ),
        config.excluded_principal_substrings,
        &|s| non_empty(s, "a piece of an ARN like \"AWSServiceRoleForConfig\""),
    )?;
    Ok(config)
}

/// Validated list items with where each stands in the file.
type Items = Vec<(String, Range<usize>)>;

/// Validation of one list item: the stored form, or (message, fix).
type ItemCheck<'c> = dyn Fn(&str) -> Result<String, (String, Option<String>)> + 'c;

fn non_empty(s: &str, what: &str) -> Result<String, (String, Option<String>)> {
    if s.is_empty() {
        Err((format!("expected {what}, got an empty string"), None))
    } else {
        Ok(s.to_owned())
    }
}

fn parser_action(s: &str) -> Result<String, (String, Option<String>)> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err((
            format!("expected an API action name like \"ListBuckets\", got \"{s}\""),
            None,
        ));
    }
    let base = crate::prefilter::normalise_bytes(s.as_bytes());
    Ok(String::from_utf8_lossy(base).into_owned())
}

fn parser_provider(s: &str) -> Result<String, (String, Option<String>)> {
    let short = s.strip_suffix(".amazonaws.com").unwrap_or(s);
    if short.is_empty()
        || !short
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err((
            format!("expected a service name like \"sts\" or \"sts.amazonaws.com\", got \"{s}\""),
            None,
        ));
    }
    Ok(short.to_owned())
}

struct Parser<'t> {
    text: &'t str,
    path: &'t str,
}

impl Parser<'_> {
    fn error(
        &self,
        span: Range<usize>,
        key: &str,
        message: String,
        fix: Option<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.path.to_owned(),
            line: Some(line_of(self.text, span.start)),
            key: Some(key.to_owned()),
            message,
            fix,
        }
    }

    fn type_error(&self, v: &Value<'_>, key: &str, expected: &str) -> ConfigError {
        self.error(
            v.span(),
            key,
            format!("expected {expected}, got {}", describe_value(v.get_ref())),
            None,
        )
    }

    fn array<'v, 'a>(&self, v: &'v Value<'a>, key: &str) -> Result<&'v [Value<'a>], ConfigError> {
        match v.get_ref() {
            DeValue::Array(items) => Ok(items),
            _ => Err(self.type_error(v, key, "a list in [ ]")),
        }
    }

    fn string<'v>(
        &self,
        v: &'v Value<'_>,
        key: &str,
        expected: &str,
    ) -> Result<&'v str, ConfigError> {
        match v.get_ref() {
            DeValue::String(s) => Ok(s),
            _ => Err(self.type_error(v, key, expected)),
        }
    }

    fn boolean(&self, v: &Value<'_>, key: &str) -> Result<bool, ConfigError> {
        match v.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.type_error(v, key, "true or false")),
        }
    }

    fn integer(&self, v: &Value<'_>, key: &str) -> Result<i64, ConfigError> {
        match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| self.type_error(v, key, "a whole number")),
            _ => Err(self.type_error(v, key, "a whole number")),
        }
    }

    fn asn_number(&self, v: &Value<'_>, key: &str) -> Result<u32, ConfigError> {
        let n = self.integer(v, key)?;
        match u32::try_from(n) {
            Ok(asn) if asn > 0 => Ok(asn),
            _ => Err(self.error(
                v.span(),
                key,
                format!("expected an AS number from 1 to 4294967295, got {n}"),
                None,
            )),
        }
    }

    /// `9009` or `{ asn = 9009, category = "vpn", name = "M247" }`.
    fn asn_entry(&self, v: &Value<'_>, key: &str) -> Result<VpnAsn, ConfigError> {
        let table = match v.get_ref() {
            DeValue::Integer(_) => return Ok(describe_asn(self.asn_number(v, key)?)),
            DeValue::Table(t) => t,
            _ => {
                return Err(self.type_error(
                    v,
                    key,
                    "an AS number or { asn = N, category = \"...\", name = \"...\" }",
                ))
            }
        };
        const FIELDS: [&str; 3] = ["asn", "category", "name"];
        for (field, _) in table.iter() {
            let name: &str = field.get_ref();
            if !FIELDS.contains(&name) {
                return Err(self.error(
                    field.span(),
                    key,
                    format!("unknown field \"{name}\" in an ASN entry"),
                    Some(match closest(name, &FIELDS) {
                        Some(c) => format!("did you mean \"{c}\"?"),
                        None => "fields are asn, category and name".to_owned(),
                    }),
                ));
            }
        }
        let Some(number) = table.get("asn") else {
            return Err(self.error(
                v.span(),
                key,
                "ASN entry without \"asn\"".to_owned(),
                Some("write { asn = 9009, category = \"vpn\" }".to_owned()),
            ));
        };
        let mut entry = describe_asn(self.asn_number(number, key)?);
        if let Some(c) = table.get("category") {
            let s = self.string(c, key, "a category string")?;
            if !CATEGORIES.contains(&s) {
                return Err(self.error(
                    c.span(),
                    key,
                    format!("unknown category \"{s}\""),
                    Some(format!("use one of {}", CATEGORIES.join(", "))),
                ));
            }
            entry.category = s.to_owned();
        }
        if let Some(n) = table.get("name") {
            entry.name = self.string(n, key, "a name string")?.to_owned();
        }
        Ok(entry)
    }

    fn cidr(&self, v: &Value<'_>) -> Result<IpNet, ConfigError> {
        let expected = "a CIDR like \"203.0.113.0/24\" or \"2001:db8::/32\"";
        let s = self.string(v, "allow_cidrs", expected)?;
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(|net| match net {
                // Mapped IPv6 networks are stored as IPv4, as addresses are checked.
                IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
                    Some(v4) if v6.prefix_len() >= 96 => {
                        ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4)
                    }
                    _ => net,
                },
                IpNet::V4(_) => net,
            })
            .map_err(|_| {
                self.error(
                    v.span(),
                    "allow_cidrs",
                    format!("expected {expected}, got \"{s}\""),
                    None,
                )
            })
    }

    /// `"10d"`, `"36h"`, `"90m"`, `"45s"`, combinations like `"1d12h"`, or an integer
    /// number of seconds.
    fn duration(&self, v: &Value<'_>, key: &str, min: i64) -> Result<i64, ConfigError> {
        let secs = match v.get_ref() {
            DeValue::Integer(_) => Some(self.integer(v, key)?),
            DeValue::String(s) => parse_duration(s),
            _ => None,
        };
        let bad = || {
            self.error(
                v.span(),
                key,
                format!(
                    "expected a duration like \"10d\" or seconds, got {}",
                    describe_value(v.get_ref())
                ),
                Some(format!("e.g. {key} = \"10d\"; units d, h, m, s")),
            )
        };
        let secs = secs.ok_or_else(bad)?;
        if secs < min || secs > MAX_WINDOW_SECS {
            return Err(self.error(
                v.span(),
                key,
                format!("expected a duration from {min} seconds to 3650 days, got {secs} seconds"),
                None,
            ));
        }
        Ok(secs)
    }

    /// Applies `full` (replace), then `add`, then `remove` to `list`.
    fn string_list<'a>(
        &self,
        get: &dyn Fn(&str) -> Option<&'a Value<'a>>,
        (full, add, remove): (&str, &str, &str),
        mut list: Vec<String>,
        check: &ItemCheck<'_>,
    ) -> Result<Vec<String>, ConfigError> {
        let read = |key: &str| -> Result<Option<Items>, ConfigError> {
            let Some(v) = get(key) else {
                return Ok(None);
            };
            let mut items = Vec::new();
            for item in self.array(v, key)? {
                let s = self.string(item, key, "a string in quotes")?;
                let stored = check(s).map_err(|(m, f)| self.error(item.span(), key, m, f))?;
                items.push((stored, item.span()));
            }
            Ok(Some(items))
        };
        if let Some(items) = read(full)? {
            list = items.into_iter().map(|(s, _)| s).collect();
        }
        if let Some(items) = read(add)? {
            for (s, _) in items {
                if !list.contains(&s) {
                    list.push(s);
                }
            }
        }
        if let Some(items) = read(remove)? {
            for (s, span) in items {
                let before = list.len();
                list.retain(|x| *x != s);
                if list.len() == before {
                    return Err(self.error(
                        span,
                        remove,
                        format!("\"{s}\" is not on the {full} list"),
                        Some("check the spelling; removing it is not needed".to_owned()),
                    ));
                }
            }
        }
        Ok(list)
    }
}

/// Seconds in a duration string, or `None` if it is not one.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total: i64 = 0;
    let mut number: Option<i64> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(i64::from(d))?,
            );
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    if number.is_some() {
        return None;
    }
    Some(total)
}

fn describe_value(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("\"{s}\""),
        DeValue::Integer(i) => i.as_str().to_owned(),
        DeValue::Float(f) => f.as_str().to_owned(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) => "a list".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.bytes().filter(|b| *b == b'\n').count() + 1
}

/// The known name nearest to `name` by edit distance, if it is plausibly a typo.
fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (name.chars().count() / 3).clamp(2, 4);
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        let mut next = Vec::with_capacity(row.len());
        next.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            let delete = row
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let insert = next.last().copied().unwrap_or(usize::MAX).saturating_add(1);
            diagonal = row.get(j + 1).copied().unwrap_or(usize::MAX);
            next.push(substitute.min(delete).min(insert));
        }
        row = next;
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10d"), Some(864_000));
        assert_eq!(parse_duration("36h"), Some(129_600));
        assert_eq!(parse_duration("90m"), Some(5_400));
        assert_eq!(parse_duration("45s"), Some(45));
        assert_eq!(parse_duration("1d12h"), Some(129_600));
        assert_eq!(parse_duration("3600"), Some(3_600));
        assert_eq!(parse_duration(" 2h "), Some(7_200));
        for bad in ["", "ten days", "10", "d", "10x", "10d5", "-1d", "1.5d"] {
            if bad == "10" {
                continue;
            }
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }

    #[test]
    fn api_version_suffix() {
        let strip = |s: &str| {
            String::from_utf8(crate::prefilter::normalise_bytes(s.as_bytes()).to_vec()).unwrap()
        };
        assert_eq!(strip("ListFunctions20150331"), "ListFunctions");
        assert_eq!(strip("GetFunction20150331v2"), "GetFunction");
        assert_eq!(strip("ListFunctions"), "ListFunctions");
        // Not a 20YYMMDD date: kept.
        assert_eq!(strip("Foo19991231"), "Foo19991231");
        assert_eq!(strip("Foo2015033"), "Foo2015033");
        assert_eq!(strip("20150331"), "20150331");
        assert_eq!(strip("Listv2"), "Listv2");
        assert_eq!(strip(""), "");
    }

    #[test]
    fn globs() {
        let g = |p: &str, t: &str| Glob::new(p, false).matches(t);
        assert!(g("*", ""));
        assert!(g("*", "anything"));
        assert!(g("", ""));
        assert!(!g("", "x"));
        assert!(g("a?c", "abc"));
        assert!(!g("a?c", "ac"));
        assert!(g("a?c", "aéc"), "? is one character, not one byte");
        assert!(!g("a??c", "aéc"));
        assert!(g("*lambda*", "my-lambda-role"));
        assert!(!g("*lambda*", "my-Lambda-role"));
        assert!(Glob::new("*lambda*", true).matches("My-LAMBDA-role"));
        assert!(g("eks-*", "eks-nodegroup"));
        assert!(!g("eks-*", "my-eks-x"));
        assert!(g("a*b*c", "aXbYc"));
        assert!(g("a*b*c", "abbbcbc"));
        assert!(!g("a*b*c", "acb"));
        assert!(g("**a**", "xax"));
        assert!(g("*?", "x"));
        assert!(!g("*?", ""));
        assert!(g(
            "arn:aws:iam::*:role/scanner-?",
            "arn:aws:iam::111122223333:role/scanner-1"
        ));
    }

    #[test]
    fn pathological_globs_stay_near_linear() {
        // Each text position is revisited at most once per literal character of the
        // longest run after a star: steps ≤ (n + 1) · (run + 1) + pattern length.
        let n = 20_000;
        let text = "a".repeat(n);
        for (pattern, run) in [
            ("*a*a*a*a*b", 1),
            ("*aaaa*b", 4),
            ("*a*a*a*a*a*a*a*a*a*ab", 2),
        ] {
            let mut steps = 0;
            assert!(!Glob::new(pattern, false).matches_counting(&text, &mut steps));
            let bound = (n as u64 + 1) * (run + 1) + pattern.len() as u64;
            assert!(steps <= bound, "{pattern}: {steps} steps > {bound}");
        }
    }

    #[test]
    fn closest_key_suggestion() {
        assert_eq!(closest("windw", &KEYS), Some("window"));
        assert_eq!(closest("add_asn", &KEYS), Some("add_asns"));
        assert_eq!(closest("statedir", &KEYS), Some("state_dir"));
        assert_eq!(closest("completely_unrelated", &KEYS), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
