//! `vpnrecon baseline`: what archived CloudTrail says about tuning the detection.
//!
//! Every event is read with the module's own code — `record::visit_events` for the
//! shapes, `prefilter::normalise_action`, the configuration's `has_action`,
//! `has_provider` and `vpn_category`, rule B's workload test, and the rules
//! themselves on fresh in-memory state for the alert volume — so the numbers mean
//! exactly what the module would do with the same files and configuration.
//!
//! Memory grows with distinct things (actions, identities, ASNs, days), never with
//! the number of events: each identity is stored once and referred to by number.

use crate::asn_cmd::config_or_defaults;
use crate::input::{self, InputStats};
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vpnrecon_filter::config::{self, Config};
use vpnrecon_filter::event::{parse_event_time, Event};
use vpnrecon_filter::output::format_time;
use vpnrecon_filter::prefilter::normalise_action;
use vpnrecon_filter::record::visit_events;
use vpnrecon_filter::rules::{discovery, workload, Evaluator, Rule};
use vpnrecon_filter::state::{State, StateConfig};
use vpnrecon_filter::{Counters, RecordTime};

/// An unlisted discovery-like action is proposed for `add_actions` once this many
/// of its calls came from listed ASNs.
pub const ADD_MIN_LISTED_CALLS: u64 = 1;
/// A configured action is proposed for `remove_actions` when this many distinct
/// identities called it from listed ASNs: it is routine here, not reconnaissance.
pub const REMOVE_MIN_LISTED_IDENTITIES: usize = 10;
/// A principal is proposed for `allow_principals` when it was a rule A candidate on
/// at least this many distinct UTC days…
pub const ALLOW_MIN_DAYS: usize = 5;
/// …and on at least this share of the days the input covers: someone who works
/// through a VPN routinely, not a burst of activity (which is what theft looks like).
pub const ALLOW_MIN_DAY_SHARE: f64 = 0.25;
/// How often the progress line is written on long runs.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

#[derive(clap::Args)]
pub struct Args {
    /// Configuration to judge against (default: the built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// One JSON object instead of the report (schema in host-test/README.md).
    #[arg(long)]
    pub json: bool,
    /// .json, .ndjson, .gz of either (S3 delivery files), directories, or - for stdin.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Where a source address stands on the VPN list in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bucket {
    /// On the list in any category but `hosting` (vpn, vpn-hosting, transit, custom),
    /// or in a local VPN range (`add_vpn_cidrs`, category local).
    Vpn = 0,
    /// On the list as `hosting`.
    Hosting = 1,
    /// Not on the list, no ASN, or not an address.
    Elsewhere = 2,
}

#[derive(Default)]
struct Spread {
    calls: u64,
    identities: HashSet<u32>,
    asns: HashSet<u32>,
}

impl Spread {
    fn add(&mut self, identity: Option<u32>, asn: Option<u32>) {
        self.calls += 1;
        self.identities.extend(identity);
        self.asns.extend(asn);
    }

    fn summary(&self) -> SpreadSummary {
        SpreadSummary {
            calls: self.calls,
            identities: self.identities.len(),
            source_asns: self.asns.len(),
        }
    }
}

#[derive(Default)]
struct ActionTally {
    all: Spread,
    by_bucket: [Spread; 3],
}

#[derive(Default)]
struct ListedTally {
    calls: u64,
    discovery_calls: u64,
    identities: HashSet<u32>,
}

/// Rule A candidates and alerts of one principal ARN.
#[derive(Default)]
struct PrincipalTally {
    candidate_days: BTreeSet<i64>,
    alerts: BTreeMap<&'static str, u64>,
    alert_days: BTreeSet<i64>,
    asns: BTreeSet<u32>,
    workload: bool,
    first: Option<i64>,
    last: Option<i64>,
}

/// Strings stored once, referred to by number.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(text.to_owned(), id);
        self.names.push(text.to_owned());
        id
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// The running tallies; feed it records, then ask for the [`Report`].
pub struct Baseline {
    evaluator: Evaluator,
    counters: Counters,
    config_file: Option<String>,
    identities: Interner,
    actions: HashMap<(String, String), ActionTally>,
    actions_seen: HashSet<String>,
    listed: HashMap<u32, ListedTally>,
    principals: HashMap<u32, PrincipalTally>,
    alerts_per_day: BTreeMap<i64, [u64; 2]>,
    records: u64,
    events: u64,
    unparsable: u64,
    first_time: Option<i64>,
    last_time: Option<i64>,
}

/// One event's facts, gathered before any tally is touched.
struct Seen {
    action: String,
    provider: String,
    identity: Option<String>,
    arn: Option<String>,
    asn: Option<u32>,
    bucket: Bucket,
    time: Option<i64>,
}

impl Baseline {
    /// Tallies judged against `config` (read from `config_file`, if any), with the
    /// rules on fresh in-memory state, as `vpnrecon replay` starts by default.
    pub fn new(config: Config, config_file: Option<String>) -> Baseline {
        let state = State::in_memory(StateConfig::from(&config));
        let loaded = config::Loaded {
            config,
            source: match &config_file {
                Some(file) => config::Source::File(file.clone()),
                None => config::Source::Defaults,
            },
            error: None,
        };
        Baseline {
            evaluator: Evaluator::new(loaded, state),
            counters: Counters::default(),
            config_file,
            identities: Interner::default(),
            actions: HashMap::new(),
            actions_seen: HashSet::new(),
            listed: HashMap::new(),
            principals: HashMap::new(),
            alerts_per_day: BTreeMap::new(),
            records: 0,
            events: 0,
            unparsable: 0,
            first_time: None,
            last_time: None,
        }
    }

    /// One record as the module would receive it.
    pub fn add_record(&mut self, record: &[u8], time: RecordTime) {
        self.records += 1;
        let parsed = visit_events(record, &mut |slot| {
            self.add_event(slot.index, slot.event, time);
        });
        if parsed.is_err() {
            self.unparsable += 1;
        }
    }

    fn add_event(&mut self, index: Option<usize>, event: &Event<'_>, time: RecordTime) {
        self.events += 1;
        let seen = self.facts(event);
        if let Some(t) = seen.time {
            self.first_time = Some(self.first_time.map_or(t, |f| f.min(t)));
            self.last_time = Some(self.last_time.map_or(t, |l| l.max(t)));
        }
        self.actions_seen.insert(seen.action.clone());
        let identity = seen.identity.as_deref().map(|i| self.identities.id(i));
        let config = self.evaluator.config();
        let configured = config.has_action(seen.action.as_bytes());
        let discovery_like = configured || is_discovery_like(config, &seen);
        if discovery_like {
            let tally = self
                .actions
                .entry((seen.action.clone(), seen.provider.clone()))
                .or_default();
            tally.all.add(identity, seen.asn);
            if let Some(bucket) = tally.by_bucket.get_mut(seen.bucket as usize) {
                bucket.add(identity, seen.asn);
            }
        }
        // Listed ASNs only: an address counted by a local range alone is not its
        // ASN's doing (its calls are in the actions' vpn split).
        let listed_asn = seen.asn.filter(|a| config.vpn_asn(*a).is_some());
        if let (Some(asn), Bucket::Vpn | Bucket::Hosting) = (listed_asn, seen.bucket) {
            let listed = self.listed.entry(asn).or_default();
            listed.calls += 1;
            listed.discovery_calls += u64::from(discovery_like);
            listed.identities.extend(identity);
        }
        self.judge(index, event, time, &seen);
    }

    fn facts(&self, event: &Event<'_>) -> Seen {
        let config = self.evaluator.config();
        let ip = event
            .source_ip
            .as_deref()
            .and_then(|text| asn_data::parse_ip(text).ok());
        let asn = ip.and_then(|ip| self.evaluator.table()?.lookup_number(ip));
        // The module's own decision: a local range (`add_vpn_cidrs`) first, then the
        // ASN list.
        let source = ip.and_then(|ip| config.vpn_source(ip, asn));
        let bucket = match source.as_ref().map(|s| s.category()) {
            Some("hosting") => Bucket::Hosting,
            Some(_) => Bucket::Vpn,
            None => Bucket::Elsewhere,
        };
        let identity = discovery::identity(event, config)
            .map(|who| format!("{}/{who}", event.account_id.as_deref().unwrap_or_default()));
        Seen {
            action: normalise_action(event.action.as_deref().unwrap_or_default()).to_owned(),
            provider: event.provider.as_deref().unwrap_or_default().to_owned(),
            identity,
            arn: event.arn.as_deref().map(str::to_owned),
            asn,
            bucket,
            time: event.time.as_deref().and_then(parse_event_time),
        }
    }

    /// Runs the rules on the event (advancing the in-memory state as the module
    /// would) and counts candidates and alerts per principal and day.
    fn judge(&mut self, index: Option<usize>, event: &Event<'_>, time: RecordTime, seen: &Seen) {
        let Some(candidate) = self.evaluator.candidate(event, time) else {
            return;
        };
        let is_workload = workload::is_workload(event, self.evaluator.config());
        let detection = self
            .evaluator
            .evaluate(index, event, time, &mut self.counters);
        let Some(arn) = seen.arn.as_deref() else {
            return;
        };
        let arn_id = self.identities.id(arn);
        let day = candidate.time.div_euclid(86_400);
        let principal = self.principals.entry(arn_id).or_default();
        principal.workload |= is_workload;
        if !is_workload {
            principal.candidate_days.insert(day);
        }
        principal.asns.insert(candidate.asn);
        principal.first = Some(
            principal
                .first
                .map_or(candidate.time, |f| f.min(candidate.time)),
        );
        principal.last = Some(
            principal
                .last
                .map_or(candidate.time, |l| l.max(candidate.time)),
        );
        if let Some(detection) = detection {
            *principal.alerts.entry(detection.rule.id()).or_default() += 1;
            principal.alert_days.insert(day);
            let per_day = self.alerts_per_day.entry(day).or_default();
            let slot = match detection.rule {
                Rule::DiscoveryNewIdentity => 0,
                Rule::Workload => 1,
            };
            if let Some(count) = per_day.get_mut(slot) {
                *count += 1;
            }
        }
    }

    /// Everything tallied so far, in the documented report form.
    pub fn report(&self, input: &InputStats) -> Report {
        let config = self.evaluator.config();
        let mut actions: Vec<ActionSummary> = self
            .actions
            .iter()
            .map(|((action, provider), tally)| ActionSummary {
                action: action.clone(),
                provider: provider.clone(),
                configured: config.has_action(action.as_bytes()),
                calls: tally.all.calls,
                identities: tally.all.identities.len(),
                source_asns: tally.all.asns.len(),
                by_category: CategorySplit {
                    vpn: tally.by_bucket[Bucket::Vpn as usize].summary(),
                    hosting: tally.by_bucket[Bucket::Hosting as usize].summary(),
                    elsewhere: tally.by_bucket[Bucket::Elsewhere as usize].summary(),
                },
            })
            .collect();
        actions.sort_by(|a, b| {
            (b.configured, b.calls, &a.action, &a.provider).cmp(&(
                a.configured,
                a.calls,
                &b.action,
                &b.provider,
            ))
        });
        let never_seen: Vec<String> = config
            .actions
            .iter()
            .filter(|a| !self.actions_seen.contains(*a))
            .cloned()
            .collect();
        let table = self.evaluator.table();
        let mut listed: Vec<ListedSummary> = self
            .listed
            .iter()
            .map(|(&asn, tally)| {
                let mut identities: Vec<String> = tally
                    .identities
                    .iter()
                    .map(|&id| self.identities.name(id).to_owned())
                    .collect();
                identities.sort();
                ListedSummary {
                    asn,
                    organisation: table
                        .and_then(|t| t.organisation(asn))
                        .unwrap_or_default()
                        .to_owned(),
                    category: config.vpn_category(asn).unwrap_or("-").to_owned(),
                    calls: tally.calls,
                    discovery_calls: tally.discovery_calls,
                    identities,
                }
            })
            .collect();
        listed.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.asn.cmp(&b.asn)));
        let alerts = self.alert_summary();
        let days = match (self.first_time, self.last_time) {
            (Some(f), Some(l)) => l.div_euclid(86_400) - f.div_euclid(86_400) + 1,
            _ => 0,
        };
        let proposal = self.proposal(&actions, &alerts.principals, days);
        Report {
            period: Period {
                first: self.first_time.map(format_time),
                last: self.last_time.map(format_time),
                days,
            },
            input: InputSummary {
                files: input.files,
                bytes: input.bytes_read,
                records: self.records,
                events: self.events,
                unparsable_records: self.unparsable,
            },
            config: ConfigSummary {
                file: self.config_file.clone(),
                actions: config.actions.len(),
                providers: config.providers.len(),
                vpn_asns: config.vpn_asns.len(),
            },
            actions,
            configured_actions_never_seen: never_seen,
            listed_asns_seen: listed,
            alerts,
            proposal,
        }
    }

    fn alert_summary(&self) -> AlertSummary {
        let per_day: Vec<DayAlerts> = self
            .alerts_per_day
            .iter()
            .map(|(&day, counts)| DayAlerts {
                date: format_time(day * 86_400).chars().take(10).collect(),
                discovery: counts[0],
                workload: counts[1],
                total: counts[0] + counts[1],
            })
            .collect();
        let mut principals: Vec<PrincipalSummary> = self
            .principals
            .iter()
            .map(|(&arn, tally)| PrincipalSummary {
                arn: self.identities.name(arn).to_owned(),
                workload: tally.workload,
                alerts: tally.alerts.values().sum(),
                alerts_by_rule: tally
                    .alerts
                    .iter()
                    .map(|(rule, n)| ((*rule).to_owned(), *n))
                    .collect(),
                alert_days: tally.alert_days.len(),
                candidate_days: tally.candidate_days.len(),
                source_asns: tally.asns.iter().copied().collect(),
                first: tally.first.map(format_time),
                last: tally.last.map(format_time),
            })
            .collect();
        principals.sort_by(|a, b| b.alerts.cmp(&a.alerts).then_with(|| a.arn.cmp(&b.arn)));
        AlertSummary {
            total: self.counters.detections_discovery + self.counters.detections_workload,
            by_rule: BTreeMap::from([
                (
                    Rule::DiscoveryNewIdentity.id().to_owned(),
                    self.counters.detections_discovery,
                ),
                (
                    Rule::Workload.id().to_owned(),
                    self.counters.detections_workload,
                ),
            ]),
            candidates: self.counters.candidates,
            per_day,
            principals,
        }
    }

    fn proposal(
        &self,
        actions: &[ActionSummary],
        principals: &[PrincipalSummary],
        period_days: i64,
    ) -> Proposal {
        let config = self.evaluator.config();
        let listed_calls =
            |a: &ActionSummary| a.by_category.vpn.calls + a.by_category.hosting.calls;
        let listed_identities = |a: &ActionSummary| {
            let key = (a.action.clone(), a.provider.clone());
            self.actions.get(&key).map_or(0, |t| {
                t.by_bucket[Bucket::Vpn as usize]
                    .identities
                    .union(&t.by_bucket[Bucket::Hosting as usize].identities)
                    .count()
            })
        };
        let mut add: BTreeMap<String, Proposed> = BTreeMap::new();
        let mut remove: BTreeMap<String, Proposed> = BTreeMap::new();
        for a in actions {
            let calls = listed_calls(a);
            let identities = listed_identities(a);
            if !a.configured && calls >= ADD_MIN_LISTED_CALLS {
                add.entry(a.action.clone()).or_insert_with(|| Proposed {
                    value: a.action.clone(),
                    evidence: format!(
                        "{calls} calls to {} from listed ASNs by {identities} identities; not on the action list",
                        a.provider
                    ),
                });
            }
            if a.configured && identities >= REMOVE_MIN_LISTED_IDENTITIES {
                remove.entry(a.action.clone()).or_insert_with(|| Proposed {
                    value: a.action.clone(),
                    evidence: format!(
                        "{identities} identities called it from listed ASNs ({calls} calls): routine here; dropping it also hides attackers who use it"
                    ),
                });
            }
        }
        let mut allow: Vec<Proposed> = config
            .allow_principals
            .iter()
            .map(|g| Proposed {
                value: g.as_str().to_owned(),
                evidence: "already in your allow_principals (the key replaces the list)".to_owned(),
            })
            .collect();
        for p in principals {
            let share = p.candidate_days as f64 / period_days.max(1) as f64;
            if p.workload || p.candidate_days < ALLOW_MIN_DAYS || share < ALLOW_MIN_DAY_SHARE {
                continue;
            }
            allow.push(Proposed {
                value: p.arn.clone(),
                evidence: format!(
                    "rule A candidate on {} of {period_days} days, {} alerts, from {}",
                    p.candidate_days,
                    p.alerts,
                    asn_list(&p.source_asns)
                ),
            });
        }
        let add: Vec<Proposed> = add.into_values().collect();
        let remove: Vec<Proposed> = remove.into_values().collect();
        let toml = proposal_toml(&add, &remove, &allow, config.allow_principals.len());
        Proposal {
            add_actions: add,
            remove_actions: remove,
            allow_principals: allow,
            toml,
        }
    }
}

/// `List*`, `Describe*` or `Get*` of a configured provider: looks like discovery.
fn is_discovery_like(config: &Config, seen: &Seen) -> bool {
    config.has_provider(&seen.provider)
        && ["List", "Describe", "Get"]
            .iter()
            .any(|prefix| seen.action.starts_with(prefix))
}

fn asn_list(asns: &[u32]) -> String {
    asns.iter()
        .map(|a| format!("AS{a}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `vpnrecon.toml` fragment with the evidence beside each line, for a human to
/// read and merge; valid TOML, so a reviewed copy can be pasted as it is.
fn proposal_toml(
    add: &[Proposed],
    remove: &[Proposed],
    allow: &[Proposed],
    existing_allow: usize,
) -> String {
    let mut out = String::from(
        "# Proposed changes to vpnrecon.toml, from `vpnrecon baseline`. Review every line;\n# nothing here has been applied.\n",
    );
    let new_allow = allow.len().saturating_sub(existing_allow);
    if add.is_empty() && remove.is_empty() && new_allow == 0 {
        out.push_str("# No changes proposed.\n");
        return out;
    }
    for (key, items) in [
        ("add_actions", add),
        ("remove_actions", remove),
        (
            "allow_principals",
            if new_allow == 0 { &[][..] } else { allow },
        ),
    ] {
        if items.is_empty() {
            continue;
        }
        out.push_str(&format!("{key} = [\n"));
        for item in items {
            out.push_str(&format!(
                "    {},  # {}\n",
                toml_string(&item.value),
                item.evidence.replace('\n', " ")
            ));
        }
        out.push_str("]\n");
    }
    out
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------
// The report (its JSON form is documented in host-test/README.md)

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub period: Period,
    pub input: InputSummary,
    pub config: ConfigSummary,
    pub actions: Vec<ActionSummary>,
    pub configured_actions_never_seen: Vec<String>,
    pub listed_asns_seen: Vec<ListedSummary>,
    pub alerts: AlertSummary,
    pub proposal: Proposal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub first: Option<String>,
    pub last: Option<String>,
    pub days: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    pub files: u64,
    pub bytes: u64,
    pub records: u64,
    pub events: u64,
    pub unparsable_records: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigSummary {
    pub file: Option<String>,
    pub actions: usize,
    pub providers: usize,
    pub vpn_asns: usize,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct SpreadSummary {
    pub calls: u64,
    pub identities: usize,
    pub source_asns: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategorySplit {
    pub vpn: SpreadSummary,
    pub hosting: SpreadSummary,
    pub elsewhere: SpreadSummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionSummary {
    pub action: String,
    pub provider: String,
    pub configured: bool,
    pub calls: u64,
    pub identities: usize,
    pub source_asns: usize,
    pub by_category: CategorySplit,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListedSummary {
    pub asn: u32,
    pub organisation: String,
    pub category: String,
    pub calls: u64,
    pub discovery_calls: u64,
    pub identities: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayAlerts {
    pub date: String,
    pub discovery: u64,
    pub workload: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrincipalSummary {
    pub arn: String,
    pub workload: bool,
    pub alerts: u64,
    pub alerts_by_rule: BTreeMap<String, u64>,
    pub alert_days: usize,
    pub candidate_days: usize,
    pub source_asns: Vec<u32>,
    pub first: Option<String>,
    pub last: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertSummary {
    pub total: u64,
    pub by_rule: BTreeMap<String, u64>,
    pub candidates: u64,
    pub per_day: Vec<DayAlerts>,
    pub principals: Vec<PrincipalSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Proposed {
    pub value: String,
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub add_actions: Vec<Proposed>,
    pub remove_actions: Vec<Proposed>,
    pub allow_principals: Vec<Proposed>,
    pub toml: String,
}

// ---------------------------------------------------------------------------
// Running it

/// Reads every record under `paths` (as `replay` does) into a baseline.
pub fn baseline(paths: &[PathBuf], config: Option<&Path>, progress: bool) -> Result<Report> {
    let config_file = config.map(|p| p.display().to_string());
    let mut tallies = Baseline::new(config_or_defaults(config)?, config_file);
    let mut stats = InputStats::default();
    let sources = input::walk(paths, &mut stats)?;
    let started = Instant::now();
    let mut last_progress = started;
    let terminal = std::io::stderr().is_terminal();
    let mut last_time = RecordTime::default();
    for source in &sources {
        // The counter is borrowed while the file is read: progress shows it as of
        // the start of the file.
        let bytes_before = stats.bytes_read;
        input::read_records(source, false, &mut stats, &mut |record, time| {
            if let Some(t) = time {
                last_time = t;
            }
            tallies.add_record(record, last_time);
            if progress && last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                let line = format!(
                    "baseline: {} records, {} events, {:.0} MB read, {:.0}s, reading {}",
                    tallies.records,
                    tallies.events,
                    (bytes_before as f64) / 1e6,
                    started.elapsed().as_secs_f64(),
                    source.display()
                );
                if terminal {
                    eprint!("\r{line}\x1b[K");
                } else {
                    eprintln!("{line}");
                }
            }
            Ok(())
        })?;
    }
    if progress && terminal && started.elapsed() >= PROGRESS_EVERY {
        eprintln!();
    }
    Ok(tallies.report(&stats))
}

pub fn run(args: &Args) -> Result<()> {
    let report = baseline(&args.paths, args.config.as_deref(), true)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    crate::ignore_broken_pipe(if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?).map_err(Into::into)
    } else {
        render(&report, &mut out)
    })
}

/// The report for a person.
pub fn render(r: &Report, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "Baseline of {} events in {} records from {} files ({} unparsable), {} to {} ({} days)",
        r.input.events,
        r.input.records,
        r.input.files,
        r.input.unparsable_records,
        r.period.first.as_deref().unwrap_or("-"),
        r.period.last.as_deref().unwrap_or("-"),
        r.period.days
    )?;
    writeln!(
        out,
        "Configuration: {} ({} actions, {} providers, {} listed ASNs)\n",
        r.config.file.as_deref().unwrap_or("built-in defaults"),
        r.config.actions,
        r.config.providers,
        r.config.vpn_asns
    )?;
    writeln!(
        out,
        "Discovery-like actions (configured first; calls / identities / source ASNs):"
    )?;
    writeln!(
        out,
        "  {:<36} {:<28} {:>18} {:>18} {:>18} {:>18}",
        "action", "provider", "all", "listed vpn", "listed hosting", "elsewhere"
    )?;
    let cell = |s: &SpreadSummary| format!("{}/{}/{}", s.calls, s.identities, s.source_asns);
    for a in &r.actions {
        writeln!(
            out,
            "{} {:<36} {:<28} {:>18} {:>18} {:>18} {:>18}",
            if a.configured { "*" } else { " " },
            a.action,
            a.provider,
            format!("{}/{}/{}", a.calls, a.identities, a.source_asns),
            cell(&a.by_category.vpn),
            cell(&a.by_category.hosting),
            cell(&a.by_category.elsewhere)
        )?;
    }
    writeln!(out, "  (* = on the action list)\n")?;
    if r.configured_actions_never_seen.is_empty() {
        writeln!(out, "Every configured action was seen.\n")?;
    } else {
        writeln!(
            out,
            "Configured actions never seen ({}): {}\n",
            r.configured_actions_never_seen.len(),
            r.configured_actions_never_seen.join(", ")
        )?;
    }
    writeln!(
        out,
        "Listed ASNs seen (calls, discovery calls, identities):"
    )?;
    if r.listed_asns_seen.is_empty() {
        writeln!(out, "  none")?;
    }
    for l in &r.listed_asns_seen {
        writeln!(
            out,
            "  AS{} {} [{}]: {} calls, {} discovery, {} identities: {}",
            l.asn,
            l.organisation,
            l.category,
            l.calls,
            l.discovery_calls,
            l.identities.len(),
            shorten(&l.identities, 8)
        )?;
    }
    writeln!(
        out,
        "\nAlerts the configuration would have raised: {} ({} candidates)",
        r.alerts.total, r.alerts.candidates
    )?;
    for (rule, n) in &r.alerts.by_rule {
        writeln!(out, "  {rule}: {n}")?;
    }
    if !r.alerts.per_day.is_empty() {
        writeln!(out, "  per day (rule A + rule B):")?;
        for d in &r.alerts.per_day {
            writeln!(
                out,
                "    {}  {:>5}  ({} + {})",
                d.date, d.total, d.discovery, d.workload
            )?;
        }
    }
    let firing: Vec<&PrincipalSummary> = r
        .alerts
        .principals
        .iter()
        .filter(|p| p.alerts > 0)
        .collect();
    if !firing.is_empty() {
        writeln!(out, "  principals that would have fired:")?;
        for p in firing {
            writeln!(
                out,
                "    {:>4} alerts on {} days  {}{}  from {}",
                p.alerts,
                p.alert_days,
                p.arn,
                if p.workload { " (workload)" } else { "" },
                asn_list(&p.source_asns)
            )?;
        }
    }
    writeln!(out, "\n{}", r.proposal.toml)?;
    Ok(())
}

fn shorten(items: &[String], shown: usize) -> String {
    let mut text = items
        .iter()
        .take(shown)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > shown {
        text.push_str(&format!(
            ", … {} more (--json lists all)",
            items.len() - shown
        ));
    }
    text
}
