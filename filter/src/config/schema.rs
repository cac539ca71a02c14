//! The keys `vpnrecon.toml` may hold, as a serde-derived schema: unknown keys are
//! rejected (`deny_unknown_fields`) and every value keeps its place in the file
//! (`toml::Spanned`), so each error names the file, line and key. Types are
//! checked by serde; what types cannot say (ranges, formats, categories, removing
//! what is not on a list) is checked while the schema becomes a [`Config`].
//! Errors are worded for the person editing the file, not in serde's terms.

use std::net::IpAddr;
use std::ops::Range;

use ipnet::IpNet;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use super::defaults::{describe_asn, CATEGORIES, MAX_KEYS_LIMIT, MAX_WINDOW_SECS};
use super::{sorted_unique, Config, ConfigError, Glob, IdentityKey, VpnAsn};

/// A list whose items each keep their place in the file.
type List<T> = Option<Spanned<Vec<Spanned<T>>>>;
type Scalar<T> = Option<Spanned<T>>;

/// Every key of `vpnrecon.toml`; `CONFIG.md` documents each.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    asns: List<AsnItem>,
    add_asns: List<AsnItem>,
    remove_asns: List<i64>,
    actions: List<String>,
    add_actions: List<String>,
    remove_actions: List<String>,
    providers: List<String>,
    add_providers: List<String>,
    remove_providers: List<String>,
    allow_principals: List<String>,
    allow_accounts: List<NumberOrText>,
    allow_cidrs: List<String>,
    add_vpn_cidrs: List<VpnCidrEntry>,
    window: Scalar<NumberOrText>,
    identity_key: Scalar<String>,
    workload_role_patterns: List<String>,
    add_workload_role_patterns: List<String>,
    remove_workload_role_patterns: List<String>,
    excluded_principal_substrings: List<String>,
    add_excluded_principal_substrings: List<String>,
    remove_excluded_principal_substrings: List<String>,
    max_keys: Scalar<i64>,
    journal_resolution: Scalar<NumberOrText>,
    state_dir: Scalar<String>,
    enrich_all: Scalar<bool>,
    rule_discovery: Scalar<bool>,
    rule_workload: Scalar<bool>,
}

/// An ASN list entry: `9009` or `{ asn = 9009, category = "vpn", name = "M247" }`.
enum AsnItem {
    Number(i64),
    Entry(AsnEntry),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AsnEntry {
    asn: Spanned<i64>,
    category: Scalar<String>,
    name: Scalar<String>,
}

/// The fields of an ASN entry table.
const ASN_FIELDS: [&str; 3] = ["asn", "category", "name"];

/// A local VPN range: `{ cidr = "203.0.113.0/24", label = "ACME VPN exits, TI 2026-11" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VpnCidrEntry {
    cidr: Spanned<String>,
    label: Spanned<String>,
}

/// The fields of a local VPN range table.
const RANGE_FIELDS: [&str; 2] = ["cidr", "label"];

impl<'de> Deserialize<'de> for AsnItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AsnItem, D::Error> {
        struct Item;
        impl<'de> Visitor<'de> for Item {
            type Value = AsnItem;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an AS number or an ASN table")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<AsnItem, E> {
                Ok(AsnItem::Number(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<AsnItem, E> {
                Ok(AsnItem::Number(i64::try_from(n).unwrap_or(i64::MAX)))
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<AsnItem, M::Error> {
                AsnEntry::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(AsnItem::Entry)
            }
        }
        deserializer.deserialize_any(Item)
    }
}

/// A whole number or a string: durations (`"10d"` or seconds) and account ids
/// (which must be strings, said in a clearer message than a type error).
enum NumberOrText {
    Number(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for NumberOrText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NumberOrText, D::Error> {
        struct Item;
        impl<'de> Visitor<'de> for Item {
            type Value = NumberOrText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number or a string")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<NumberOrText, E> {
                Ok(NumberOrText::Number(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<NumberOrText, E> {
                Ok(NumberOrText::Number(i64::try_from(n).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<NumberOrText, E> {
                Ok(NumberOrText::Text(s.to_owned()))
            }
        }
        deserializer.deserialize_any(Item)
    }
}

/// The keys `vpnrecon.toml` may hold, as the schema declares them.
pub fn keys() -> &'static [&'static str] {
    /// A deserializer that only asks the derived schema for its field names.
    struct FieldNames(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut FieldNames {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("field names only"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("field names only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            enum identifier ignored_any
        }
    }
    let mut names = FieldNames(None);
    let _ = File::deserialize(&mut names);
    names.0.unwrap_or(&[])
}

/// What a key's value (or, for a list, each item) must be, in the words of the
/// error message.
fn expected(key: &str, whole: bool) -> &'static str {
    let list = key.starts_with("add_")
        || key.starts_with("remove_")
        || matches!(
            key,
            "asns"
                | "actions"
                | "providers"
                | "allow_principals"
                | "allow_accounts"
                | "allow_cidrs"
                | "workload_role_patterns"
                | "excluded_principal_substrings"
        );
    if list && whole {
        return "a list in [ ]";
    }
    match key {
        "asns" | "add_asns" => "an AS number or { asn = N, category = \"...\", name = \"...\" }",
        "remove_asns" | "max_keys" => "a whole number",
        "allow_principals" => "an ARN pattern like \"arn:aws:iam::111122223333:role/scanner*\"",
        "allow_accounts" => "a 12-digit account id in quotes",
        "allow_cidrs" => CIDR,
        "add_vpn_cidrs" => RANGE,
        "window" | "journal_resolution" => "a duration like \"10d\" or seconds",
        "identity_key" => "one of \"user\", \"arn\", \"access_key\"",
        "state_dir" => "a directory the host pre-opens, e.g. \".\"",
        "enrich_all" | "rule_discovery" | "rule_workload" => "true or false",
        _ => "a string in quotes",
    }
}

const CIDR: &str = "a CIDR like \"203.0.113.0/24\" or \"2001:db8::/32\"";
const RANGE: &str = "{ cidr = \"203.0.113.0/24\", label = \"where the intelligence came from\" }";

/// The fix offered with a wrong duration.
fn duration_fix(key: &str) -> Option<String> {
    Some(format!("e.g. {key} = \"10d\"; units d, h, m, s"))
}

/// Parses and validates `text` (the contents of `path`, used in messages).
pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
    let ctx = Ctx { text, path };
    let doc = DeTable::parse(text).map_err(|e| ConfigError {
        file: path.to_owned(),
        line: e.span().map(|s| line_of(text, s.start)),
        key: None,
        message: format!("not valid TOML: {}", e.message().trim_end()),
        fix: None,
    })?;
    let file: File = toml::from_str(text).map_err(|e| ctx.serde_error(&e, &doc))?;
    ctx.build(file)
}

struct Ctx<'t> {
    text: &'t str,
    path: &'t str,
}

/// Validated list items with where each stands in the file.
type Items = Vec<(String, Range<usize>)>;

/// Validation of one list item: the stored form, or (message, fix).
type ItemCheck<'c> = dyn Fn(&str) -> Result<String, (String, Option<String>)> + 'c;

impl Ctx<'_> {
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

    /// A serde error in the file's terms: the key it concerns (the top-level key
    /// whose value holds the error's place), what was expected and what is there.
    fn serde_error(&self, e: &toml::de::Error, doc: &Spanned<DeTable<'_>>) -> ConfigError {
        let message = e.message();
        let span = e.span().unwrap_or(0..0);
        // Which top-level member the error is in, and whether it is its whole value.
        let mut at: Option<(String, Range<usize>, bool)> = None;
        for (key, value) in doc.get_ref().iter() {
            let (k, v) = (key.span(), value.span());
            if (k.start <= span.start && span.start < k.end.max(k.start + 1))
                || (v.start <= span.start && span.start < v.end)
            {
                at = Some((key.get_ref().to_string(), k, v == span));
                break;
            }
        }
        if let Some(name) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            if let Some((key, _)) = doc.get_ref().iter().find(|(k, _)| k.get_ref() == name) {
                let known = keys();
                return self.error(
                    key.span(),
                    name,
                    format!("unknown key \"{name}\""),
                    Some(match closest(name, known) {
                        Some(k) => format!("did you mean \"{k}\"?"),
                        None => "remove it; CONFIG.md lists every key".to_owned(),
                    }),
                );
            }
            let (key, _, _) = at.unwrap_or_default();
            let (what, fields, all) = if key == "add_vpn_cidrs" {
                (
                    "a VPN range",
                    &RANGE_FIELDS[..],
                    "fields are cidr and label",
                )
            } else {
                (
                    "an ASN entry",
                    &ASN_FIELDS[..],
                    "fields are asn, category and name",
                )
            };
            return self.error(
                span,
                &key,
                format!("unknown field \"{name}\" in {what}"),
                Some(match closest(name, fields) {
                    Some(c) => format!("did you mean \"{c}\"?"),
                    None => all.to_owned(),
                }),
            );
        }
        let Some((key, key_span, whole)) = at else {
            return ConfigError {
                file: self.path.to_owned(),
                line: e.span().map(|s| line_of(self.text, s.start)),
                key: None,
                message: message.trim_end().to_owned(),
                fix: None,
            };
        };
        if message.starts_with("missing field `asn`") {
            return self.error(
                span,
                &key,
                "ASN entry without \"asn\"".to_owned(),
                Some("write { asn = 9009, category = \"vpn\" }".to_owned()),
            );
        }
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .filter(|_| key == "add_vpn_cidrs")
        {
            return self.error(
                span,
                &key,
                format!("VPN range without \"{field}\""),
                Some(format!("write {RANGE}")),
            );
        }
        let found = self.text.get(span.clone()).unwrap_or_default().trim();
        let got = match found.as_bytes().first() {
            Some(b'[') => "a list",
            Some(b'{') => "a table",
            _ if found.is_empty() => "nothing",
            _ => found,
        };
        let fix = match key.as_str() {
            "window" | "journal_resolution" => duration_fix(&key),
            _ => None,
        };
        let place = if span.is_empty() { key_span } else { span };
        self.error(
            place,
            &key,
            format!("expected {}, got {got}", expected(&key, whole)),
            fix,
        )
    }

    fn build(&self, file: File) -> Result<Config, ConfigError> {
        let mut config = Config::default();

        // ASNs.
        if let Some(items) = &file.asns {
            let mut list = Vec::new();
            for item in items.get_ref() {
                list.push(self.asn_entry(item, "asns")?);
            }
            config.vpn_asns = list;
        }
        if let Some(items) = &file.add_asns {
            for item in items.get_ref() {
                let entry = self.asn_entry(item, "add_asns")?;
                config.vpn_asns.retain(|a| a.asn != entry.asn);
                config.vpn_asns.push(entry);
            }
        }
        config.vpn_asns.sort_by_key(|a| a.asn);
        config.vpn_asns.dedup_by_key(|a| a.asn);
        if let Some(items) = &file.remove_asns {
            for item in items.get_ref() {
                let asn = self.asn_number(*item.get_ref(), item.span(), "remove_asns")?;
                let before = config.vpn_asns.len();
                config.vpn_asns.retain(|a| a.asn != asn);
                if config.vpn_asns.len() == before {
                    return Err(self.error(
                        item.span(),
                        "remove_asns",
                        format!("AS{asn} is not on the VPN ASN list"),
                        Some("check the number; removing it is not needed".to_owned()),
                    ));
                }
            }
        }

        // Actions and providers.
        config.actions = self.string_list(
            [&file.actions, &file.add_actions, &file.remove_actions],
            ["actions", "add_actions", "remove_actions"],
            config.actions,
            &action,
        )?;
        config.providers = self.string_list(
            [&file.providers, &file.add_providers, &file.remove_providers],
            ["providers", "add_providers", "remove_providers"],
            config.providers,
            &provider,
        )?;
        config.actions.sort();
        config.actions.dedup();
        config.providers.sort();
        config.providers.dedup();

        // Allowlists.
        if let Some(items) = &file.allow_principals {
            config.allow_principals = items
                .get_ref()
                .iter()
                .map(|p| Glob::new(p.get_ref(), false))
                .collect();
        }
        if let Some(items) = &file.allow_accounts {
            let mut accounts = Vec::new();
            for item in items.get_ref() {
                let id =
                    match item.get_ref() {
                        NumberOrText::Number(_) => return Err(self.error(
                            item.span(),
                            "allow_accounts",
                            "account ids must be quoted strings".to_owned(),
                            Some(
                                "write e.g. \"012345678901\": a number would lose leading zeros"
                                    .to_owned(),
                            ),
                        )),
                        NumberOrText::Text(id) => id,
                    };
                if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(self.error(
                        item.span(),
                        "allow_accounts",
                        format!("expected a 12-digit account id, got \"{id}\""),
                        None,
                    ));
                }
                accounts.push(id.clone());
            }
            config.allow_accounts = sorted_unique(accounts.into_iter());
        }
        if let Some(items) = &file.allow_cidrs {
            let mut nets = Vec::new();
            for item in items.get_ref() {
                nets.push(self.cidr(item, "allow_cidrs")?);
            }
            config.allow_cidrs = nets;
        }
        if let Some(items) = &file.add_vpn_cidrs {
            for item in items.get_ref() {
                let entry = item.get_ref();
                let net = self.cidr(&entry.cidr, "add_vpn_cidrs")?.trunc();
                let label = entry.label.get_ref().trim();
                if label.is_empty() || label.len() > 200 {
                    return Err(self.error(
                        entry.label.span(),
                        "add_vpn_cidrs",
                        "expected a label of 1 to 200 characters".to_owned(),
                        Some("say where the range comes from, e.g. \"ACME VPN exits (TI feed, 2026-11)\"".to_owned()),
                    ));
                }
                if config.vpn_ranges.iter().any(|r| r.net == net) {
                    return Err(self.error(
                        entry.cidr.span(),
                        "add_vpn_cidrs",
                        format!("{net} is listed twice"),
                        Some("keep one entry per range".to_owned()),
                    ));
                }
                config.vpn_ranges.push(super::VpnRange {
                    net,
                    label: label.to_owned(),
                });
            }
            // Most specific first, so an address takes the label of its narrowest range.
            config
                .vpn_ranges
                .sort_by_key(|r| std::cmp::Reverse(r.net.prefix_len()));
        }

        // Scalars.
        if let Some(v) = &file.window {
            config.window_secs = self.duration(v, "window", 1)?;
        }
        if let Some(v) = &file.journal_resolution {
            config.journal_resolution_secs = self.duration(v, "journal_resolution", 0)?;
        }
        if let Some(v) = &file.identity_key {
            config.identity_key = match v.get_ref().as_str() {
                "user" => IdentityKey::User,
                "arn" => IdentityKey::Arn,
                "access_key" => IdentityKey::AccessKey,
                other => {
                    let choices = ["user", "arn", "access_key"];
                    return Err(self.error(
                        v.span(),
                        "identity_key",
                        format!(
                            "expected one of \"user\", \"arn\", \"access_key\", got \"{other}\""
                        ),
                        closest(other, &choices).map(|c| format!("did you mean \"{c}\"?")),
                    ));
                }
            };
        }
        if let Some(v) = &file.max_keys {
            let n = *v.get_ref();
            let max_keys = usize::try_from(n)
                .ok()
                .filter(|_| (1..=MAX_KEYS_LIMIT).contains(&n));
            let Some(max_keys) = max_keys else {
                return Err(self.error(
                    v.span(),
                    "max_keys",
                    format!("expected a number of keys from 1 to {MAX_KEYS_LIMIT}, got {n}"),
                    Some(format!(
                        "the default is {} (about 30 MB)",
                        super::DEFAULT_MAX_KEYS
                    )),
                ));
            };
            config.max_keys = max_keys;
        }
        if let Some(v) = &file.state_dir {
            config.state_dir = v.get_ref().clone();
        }
        if let Some(v) = &file.enrich_all {
            config.enrich_all = *v.get_ref();
        }
        if let Some(v) = &file.rule_discovery {
            config.rule_discovery = *v.get_ref();
        }
        if let Some(v) = &file.rule_workload {
            config.rule_workload = *v.get_ref();
        }

        // Pattern lists.
        let patterns: Vec<String> = config
            .workload_role_patterns
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect();
        let patterns = self.string_list(
            [
                &file.workload_role_patterns,
                &file.add_workload_role_patterns,
                &file.remove_workload_role_patterns,
            ],
            [
                "workload_role_patterns",
                "add_workload_role_patterns",
                "remove_workload_role_patterns",
            ],
            patterns,
            &|s| non_empty(s, "a role-name pattern like \"*-task-role*\""),
        )?;
        config.workload_role_patterns = patterns.iter().map(|p| Glob::new(p, true)).collect();
        config.excluded_principal_substrings = self.string_list(
            [
                &file.excluded_principal_substrings,
                &file.add_excluded_principal_substrings,
                &file.remove_excluded_principal_substrings,
            ],
            [
                "excluded_principal_substrings",
                "add_excluded_principal_substrings",
                "remove_excluded_principal_substrings",
            ],
            config.excluded_principal_substrings,
            &|s| non_empty(s, "a piece of an ARN like \"AWSServiceRoleForConfig\""),
        )?;
        Ok(config)
    }

    fn asn_number(&self, n: i64, span: Range<usize>, key: &str) -> Result<u32, ConfigError> {
        match u32::try_from(n) {
            Ok(asn) if asn > 0 => Ok(asn),
            _ => Err(self.error(
                span,
                key,
                format!("expected an AS number from 1 to 4294967295, got {n}"),
                None,
            )),
        }
    }

    fn asn_entry(&self, item: &Spanned<AsnItem>, key: &str) -> Result<VpnAsn, ConfigError> {
        let entry = match item.get_ref() {
            AsnItem::Number(n) => {
                return Ok(describe_asn(self.asn_number(*n, item.span(), key)?))
            }
            AsnItem::Entry(entry) => entry,
        };
        let mut asn = describe_asn(self.asn_number(*entry.asn.get_ref(), entry.asn.span(), key)?);
        if let Some(c) = &entry.category {
            let category = c.get_ref();
            if !CATEGORIES.contains(&category.as_str()) {
                return Err(self.error(
                    c.span(),
                    key,
                    format!("unknown category \"{category}\""),
                    Some(format!("use one of {}", CATEGORIES.join(", "))),
                ));
            }
            asn.category = category.clone();
        }
        if let Some(name) = &entry.name {
            asn.name = name.get_ref().clone();
        }
        Ok(asn)
    }

    fn cidr(&self, item: &Spanned<String>, key: &str) -> Result<IpNet, ConfigError> {
        let s = item.get_ref();
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
                    item.span(),
                    key,
                    format!("expected {CIDR}, got \"{s}\""),
                    None,
                )
            })
    }

    /// `"10d"`, `"36h"`, `"90m"`, `"45s"`, combinations like `"1d12h"`, or an integer
    /// number of seconds.
    fn duration(&self, v: &Spanned<NumberOrText>, key: &str, min: i64) -> Result<i64, ConfigError> {
        let secs = match v.get_ref() {
            NumberOrText::Number(n) => *n,
            NumberOrText::Text(s) => parse_duration(s).ok_or_else(|| {
                self.error(
                    v.span(),
                    key,
                    format!("expected {}, got \"{s}\"", expected(key, true)),
                    duration_fix(key),
                )
            })?,
        };
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

    /// Applies the replacement, then the additions, then the removals to `list`.
    fn string_list(
        &self,
        [full, add, remove]: [&List<String>; 3],
        [full_key, add_key, remove_key]: [&str; 3],
        mut list: Vec<String>,
        check: &ItemCheck<'_>,
    ) -> Result<Vec<String>, ConfigError> {
        let read = |items: &List<String>, key: &str| -> Result<Option<Items>, ConfigError> {
            let Some(items) = items else {
                return Ok(None);
            };
            let mut out = Vec::new();
            for item in items.get_ref() {
                let stored =
                    check(item.get_ref()).map_err(|(m, f)| self.error(item.span(), key, m, f))?;
                out.push((stored, item.span()));
            }
            Ok(Some(out))
        };
        if let Some(items) = read(full, full_key)? {
            list = items.into_iter().map(|(s, _)| s).collect();
        }
        if let Some(items) = read(add, add_key)? {
            for (s, _) in items {
                if !list.contains(&s) {
                    list.push(s);
                }
            }
        }
        if let Some(items) = read(remove, remove_key)? {
            for (s, span) in items {
                let before = list.len();
                list.retain(|x| *x != s);
                if list.len() == before {
                    return Err(self.error(
                        span,
                        remove_key,
                        format!("\"{s}\" is not on the {full_key} list"),
                        Some("check the spelling; removing it is not needed".to_owned()),
                    ));
                }
            }
        }
        Ok(list)
    }
}

fn non_empty(s: &str, what: &str) -> Result<String, (String, Option<String>)> {
    if s.is_empty() {
        Err((format!("expected {what}, got an empty string"), None))
    } else {
        Ok(s.to_owned())
    }
}

fn action(s: &str) -> Result<String, (String, Option<String>)> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err((
            format!("expected an API action name like \"ListBuckets\", got \"{s}\""),
            None,
        ));
    }
    let base = crate::action::normalise_bytes(s.as_bytes());
    Ok(String::from_utf8_lossy(base).into_owned())
}

fn provider(s: &str) -> Result<String, (String, Option<String>)> {
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
    fn closest_key_suggestion() {
        assert_eq!(closest("windw", keys()), Some("window"));
        assert_eq!(closest("add_asn", keys()), Some("add_asns"));
        assert_eq!(closest("statedir", keys()), Some("state_dir"));
        assert_eq!(closest("completely_unrelated", keys()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn the_schema_lists_every_documented_key() {
        let doc = include_str!("../../CONFIG.md");
        let keys = keys();
        assert_eq!(keys.len(), 27);
        for key in keys {
            assert!(doc.contains(&format!("`{key}`")), "{key} is documented");
        }
    }
}
