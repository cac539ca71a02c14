//! `vpnrecon asn search|show` and the range column of `vpnrecon lookup`: what the
//! baked table knows about an autonomous system, and whether the VPN list counts it.
//!
//! "List category" is the category the configuration in force gives the AS (the
//! enabled entries of the curated list plus `add_asns`, minus `remove_asns`), the
//! same answer the module's `vpn_category` gives. An AS that is on the curated list
//! but not enabled is shown as such, so an analyst sees the candidates to enable.

use anyhow::{bail, Context, Result};
use asn_data::curated::{self, CuratedAsn};
use asn_data::{AsnRange, Table};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use vpnrecon_filter::config::Config;

/// How many ranges per family `asn show` prints without `--all`.
const RANGES_SHOWN: usize = 10;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AsnCommand,
}

#[derive(clap::Subcommand)]
pub enum AsnCommand {
    /// ASNs whose organisation name contains TEXT (case-insensitive): AS number,
    /// organisation, ranges, addresses, list category (or -).
    Search {
        text: String,
        /// One JSON array instead of lines.
        #[arg(long)]
        json: bool,
        /// Configuration whose VPN list decides the category (default: built-in list).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Organisation, IPv4 and IPv6 ranges and list membership of one AS (9009 or AS9009).
    Show {
        asn: String,
        /// Every range, not just the first few of each family.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// The baked table, or the error every command gives without it.
pub fn baked_table() -> Result<&'static Table<'static>> {
    asn_data::baked().context(
        "this build has no baked ASN table (asn_data/data/asn_table.bin is empty or invalid); rebuild it as asn_data/README.md describes",
    )
}

/// The configuration `--config` names, or the built-in defaults. A file the module
/// would reject is an error here, with the module's own message.
pub fn config_or_defaults(path: Option<&std::path::Path>) -> Result<Config> {
    match path {
        None => Ok(Config::default()),
        Some(path) => crate::fluent_bit_config::load_active(Some(path), std::path::Path::new("."))
            .map(|active| active.config)
            .map_err(anyhow::Error::msg),
    }
}

/// `9009`, `AS9009` or `as9009`.
pub fn parse_asn(text: &str) -> Result<u32> {
    let digits = text
        .strip_prefix("AS")
        .or_else(|| text.strip_prefix("as"))
        .unwrap_or(text);
    digits
        .parse()
        .with_context(|| format!("{text:?} is not an AS number: write it as 9009 or AS9009, or find the AS by organisation name with `vpnrecon asn search {text}`"))
}

/// Where an AS stands on the VPN list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Category in force (`None`: the configuration does not count this AS).
    pub category: Option<String>,
    /// The curated list's entry, enabled or not.
    pub curated: Option<CuratedAsn>,
}

impl Listing {
    pub fn of(asn: u32, config: &Config, curated: &[CuratedAsn]) -> Listing {
        Listing {
            category: config.vpn_category(asn).map(str::to_owned),
            curated: curated.iter().find(|c| c.asn == asn).cloned(),
        }
    }

    /// `vpn-hosting`, `hosting (curated, not enabled)` or `-`.
    pub fn label(&self) -> String {
        match (&self.category, &self.curated) {
            (Some(category), _) => category.clone(),
            (None, Some(c)) => format!("{} (curated, not enabled)", c.category.as_str()),
            (None, None) => "-".to_owned(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "listed": self.category.is_some(),
            "category": self.category,
            "curated": self.curated.as_ref().map(|c| json!({
                "category": c.category.as_str(),
                "enabled": c.enabled,
                "dual_use": c.dual_use,
                "note": c.note,
                "reference": c.reference,
            })),
        })
    }
}

/// Range and address counts of one AS, per family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extent {
    pub v4_ranges: u64,
    pub v6_ranges: u64,
    pub v4_addresses: u128,
    pub v6_addresses: u128,
}

impl Extent {
    fn add(&mut self, range: &AsnRange) {
        if range.first.is_ipv4() {
            self.v4_ranges += 1;
            self.v4_addresses = self.v4_addresses.saturating_add(range.addresses());
        } else {
            self.v6_ranges += 1;
            self.v6_addresses = self.v6_addresses.saturating_add(range.addresses());
        }
    }

    fn addresses_label(&self) -> String {
        match (self.v4_ranges, self.v6_ranges) {
            (_, 0) => format!("{} IPv4", self.v4_addresses),
            (0, _) => format!("{} IPv6", ipv6_size(self.v6_addresses)),
            _ => format!(
                "{} IPv4 + {} IPv6",
                self.v4_addresses,
                ipv6_size(self.v6_addresses)
            ),
        }
    }

    fn to_json(self) -> Value {
        json!({
            "ranges": self.v4_ranges + self.v6_ranges,
            "ipv4_ranges": self.v4_ranges,
            "ipv6_ranges": self.v6_ranges,
            "ipv4_addresses": self.v4_addresses as u64,
            // IPv6 counts exceed what JSON numbers hold exactly: decimal text.
            "ipv6_addresses": self.v6_addresses.to_string(),
        })
    }
}

/// IPv6 sizes are read in /48s and /64s, not as 30-digit numbers.
fn ipv6_size(addresses: u128) -> String {
    let per_64 = 1u128 << 64;
    if addresses >= per_64 << 16 {
        format!("{} /48s", addresses / (per_64 << 16))
    } else if addresses >= per_64 {
        format!("{} /64s", addresses / per_64)
    } else {
        format!("{addresses} addresses")
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub asn: u32,
    pub organisation: String,
    pub extent: Extent,
    pub listing: Listing,
}

/// ASNs whose organisation contains `text` (ASCII case-insensitive), from the table
/// and from the curated list (an AS listed there may have no range in the table).
pub fn search(table: &Table<'_>, config: &Config, text: &str) -> Vec<Found> {
    let needle = text.to_lowercase();
    let curated = curated::list();
    let mut found: BTreeMap<u32, Found> = BTreeMap::new();
    let mut remember = |asn: u32, organisation: &str| {
        found.entry(asn).or_insert_with(|| Found {
            asn,
            organisation: organisation.to_owned(),
            extent: Extent::default(),
            listing: Listing::of(asn, config, &curated),
        });
    };
    for asn in table.asns() {
        if asn.organisation.to_lowercase().contains(&needle) {
            remember(asn.number, asn.organisation);
        }
    }
    for c in &curated {
        if !c.name.is_empty() && c.name.to_lowercase().contains(&needle) {
            remember(c.asn, &c.name);
        }
    }
    if !found.is_empty() {
        table.for_each_range(&mut |range| {
            if let Some(f) = found.get_mut(&range.asn) {
                f.extent.add(&range);
            }
        });
    }
    found.into_values().collect()
}

pub fn run(args: &Args) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    crate::ignore_broken_pipe(run_to(args, &mut out))
}

/// Runs the command, writing its report to `out`.
pub fn run_to(args: &Args, out: &mut dyn Write) -> Result<()> {
    let table = baked_table()?;
    match &args.command {
        AsnCommand::Search { text, json, config } => {
            if text.trim().is_empty() {
                bail!("asn search needs some text to look for in organisation names");
            }
            let config = config_or_defaults(config.as_deref())?;
            let found = search(table, &config, text);
            if *json {
                let list: Vec<Value> = found.iter().map(found_json).collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else if found.is_empty() {
                eprintln!("no AS organisation contains {text:?}");
            } else {
                for f in &found {
                    writeln!(
                        out,
                        "AS{}\t{}\t{} ranges\t{}\t{}",
                        f.asn,
                        display_name(&f.organisation),
                        f.extent.v4_ranges + f.extent.v6_ranges,
                        f.extent.addresses_label(),
                        f.listing.label()
                    )?;
                }
            }
            Ok(())
        }
        AsnCommand::Show {
            asn,
            all,
            json,
            config,
        } => {
            let number = parse_asn(asn)?;
            let config = config_or_defaults(config.as_deref())?;
            show(table, &config, number, *all, *json, out)
        }
    }
}

fn display_name(name: &str) -> &str {
    if name.is_empty() {
        "(no name)"
    } else {
        name
    }
}

fn found_json(f: &Found) -> Value {
    json!({
        "asn": f.asn,
        "organisation": f.organisation,
        "extent": f.extent.to_json(),
        "list": f.listing.to_json(),
    })
}

fn show(
    table: &Table<'_>,
    config: &Config,
    number: u32,
    all: bool,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let curated = curated::list();
    let listing = Listing::of(number, config, &curated);
    let ranges = table.ranges_of(number);
    let organisation = table
        .organisation(number)
        .map(str::to_owned)
        .or_else(|| listing.curated.as_ref().map(|c| c.name.clone()))
        .unwrap_or_default();
    if ranges.is_empty() && listing.curated.is_none() && listing.category.is_none() {
        bail!("AS{number} announces no range in the baked table and is not on the VPN list; check the number, or search by name with `vpnrecon asn search TEXT`");
    }
    let mut extent = Extent::default();
    for range in &ranges {
        extent.add(range);
    }
    let (v4, v6): (Vec<&AsnRange>, Vec<&AsnRange>) = ranges.iter().partition(|r| r.first.is_ipv4());
    // Local VPN ranges (`add_vpn_cidrs`) that start inside this AS: its addresses
    // there count as VPN sources whatever the list says of the AS.
    let local: Vec<&vpnrecon_filter::config::VpnRange> = config
        .vpn_ranges
        .iter()
        .filter(|r| table.lookup(r.net.network()).map(|a| a.number) == Some(number))
        .collect();
    let limit = if all { usize::MAX } else { RANGES_SHOWN };
    if as_json {
        let listed = |family: &[&AsnRange]| -> Vec<Value> {
            family
                .iter()
                .take(limit)
                .map(|r| json!({"first": r.first.to_string(), "last": r.last.to_string(), "range": r.to_string()}))
                .collect()
        };
        let value = json!({
            "asn": number,
            "organisation": organisation,
            "extent": extent.to_json(),
            "ipv4": listed(&v4),
            "ipv6": listed(&v6),
            "complete": all || (v4.len() <= RANGES_SHOWN && v6.len() <= RANGES_SHOWN),
            "list": listing.to_json(),
            "local_ranges": local
                .iter()
                .map(|r| json!({"cidr": r.net.to_string(), "label": r.label}))
                .collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    writeln!(out, "AS{number}  {}", display_name(&organisation))?;
    writeln!(out, "VPN list: {}", listing.label())?;
    if let Some(c) = &listing.curated {
        writeln!(
            out,
            "  curated: {}{}; {}",
            c.category.as_str(),
            if c.dual_use { ", dual use" } else { "" },
            c.note
        )?;
        writeln!(out, "  reference: {}", c.reference)?;
    }
    if !local.is_empty() {
        writeln!(
            out,
            "local VPN ranges (add_vpn_cidrs) in this AS: {}",
            local.len()
        )?;
        for r in &local {
            writeln!(out, "  {} ({})", r.net, r.label)?;
        }
    }
    for (family, list) in [("IPv4", &v4), ("IPv6", &v6)] {
        writeln!(out, "{family} ranges: {}", list.len())?;
        for r in list.iter().take(limit) {
            writeln!(out, "  {r}")?;
        }
        if list.len() > limit {
            writeln!(
                out,
                "  … {} more (--all lists every one)",
                list.len() - limit
            )?;
        }
    }
    writeln!(out, "addresses: {}", extent.addresses_label())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn_numbers_in_either_spelling() {
        assert_eq!(parse_asn("9009").ok(), Some(9009));
        assert_eq!(parse_asn("AS9009").ok(), Some(9009));
        assert_eq!(parse_asn("as216025").ok(), Some(216025));
        assert!(parse_asn("AS-1").is_err());
        assert!(parse_asn("M247").is_err());
    }

    #[test]
    fn ipv6_sizes_read_in_blocks() {
        assert_eq!(ipv6_size(1 << 80), "1 /48s");
        assert_eq!(ipv6_size(3 << 64), "3 /64s");
        assert_eq!(ipv6_size(256), "256 addresses");
    }
}
