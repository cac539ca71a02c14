//! The two detections and the conditions they share.
//!
//! An event becomes a *candidate* when its provider, normalised action and source
//! ASN are on the configured lists, the principal is not excluded or allowlisted,
//! and the identity is not an AWS service. A candidate whose principal is a workload
//! (EC2 instance role session, Lambda/ECS/EKS/service role) is judged by rule B
//! only; every other candidate by rule A.

pub mod discovery;
pub mod explain;
pub mod spare;
pub mod workload;

use crate::action;
use crate::config::{self, Config, ConfigError};
use crate::event::{parse_event_time, Event};
use crate::prefilter;
use crate::state::State;
use crate::{Counters, RecordTime};
use std::cell::Cell;
use std::net::IpAddr;

/// Which rule fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Rule A: discovery from a VPN ASN by an identity new to that ASN.
    DiscoveryNewIdentity,
    /// Rule B: discovery from a VPN ASN by workload credentials.
    Workload,
}

impl Rule {
    pub fn id(self) -> &'static str {
        match self {
            Rule::DiscoveryNewIdentity => "vpnrecon-discovery-vpn-new-identity",
            Rule::Workload => "vpnrecon-discovery-vpn-workload",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Rule::DiscoveryNewIdentity => {
                "AWS discovery API call from a VPN ASN for the first time by identity"
            }
            Rule::Workload => "AWS discovery API call from a VPN ASN by workload credentials",
        }
    }

    pub fn severity(self) -> &'static str {
        match self {
            Rule::DiscoveryNewIdentity => "medium",
            Rule::Workload => "high",
        }
    }

    /// Elastic's risk scores: 47 for medium, 73 for high.
    pub fn risk_score(self) -> u32 {
        match self {
            Rule::DiscoveryNewIdentity => 47,
            Rule::Workload => 73,
        }
    }
}

/// Where the event time of a detection came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSource {
    /// The event's own `eventTime` (or ECS `@timestamp`).
    Event,
    /// `eventTime` was missing or unparsable: the record time from the host.
    Record,
}

/// The facts shared by both rules for one candidate event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub source_ip: IpAddr,
    pub asn: u32,
    /// The table's organisation; for a local range without an ASN, its label.
    pub organisation: String,
    /// The list category: the ASN's, or `local` for a range of `add_vpn_cidrs`.
    pub category: String,
    /// The local range (`add_vpn_cidrs`) the source is in, when that made it a VPN
    /// source.
    pub range: Option<config::VpnRange>,
    pub action: String,
    pub provider: String,
    pub outcome: &'static str,
    pub arn: String,
    pub time: i64,
    pub time_source: TimeSource,
}

/// A [`Candidate`] borrowed from the event and the configuration: what the rules
/// decide on. Most candidates do not fire, so the owned strings of a [`Candidate`]
/// are made ([`Screened::to_candidate`]) only for a detection or a caller that keeps
/// it.
#[derive(Clone, Copy, Debug)]
pub struct Screened<'e> {
    pub source_ip: IpAddr,
    pub asn: u32,
    /// Read only for a detection: see [`Screened::organisation`].
    organisation: Organisation<'e>,
    pub category: &'e str,
    pub range: Option<&'e config::VpnRange>,
    pub action: &'e str,
    pub provider: &'e str,
    pub outcome: &'static str,
    pub arn: &'e str,
    pub time: i64,
    pub time_source: TimeSource,
}

/// Where a candidate's organisation name comes from.
#[derive(Clone, Copy, Debug)]
enum Organisation<'e> {
    /// A local range's label: the table has no ASN for the source.
    Label(&'e str),
    /// The table's name for the candidate's ASN.
    Table(Option<&'static asn_data::Table<'static>>),
}

impl<'e> Screened<'e> {
    /// The table's organisation for the ASN (or a local range's label when the table
    /// has none). Looked up by number, only when asked: the ASN's entry is the one
    /// `Table::lookup` finds for the address (each number has one entry).
    pub fn organisation(&self) -> &'e str {
        match self.organisation {
            Organisation::Label(label) => label,
            Organisation::Table(table) => table
                .and_then(|table| table.organisation(self.asn))
                .unwrap_or(""),
        }
    }

    pub fn to_candidate(&self) -> Candidate {
        self.to_candidate_in(&mut spare::Spare::default())
    }

    /// [`Screened::to_candidate`] with its strings in `spare`'s buffers.
    pub fn to_candidate_in(&self, spare: &mut spare::Spare) -> Candidate {
        Candidate {
            source_ip: self.source_ip,
            asn: self.asn,
            organisation: spare.text(self.organisation()),
            category: spare.text(self.category),
            range: self.range.cloned(),
            action: spare.text(self.action),
            provider: spare.text(self.provider),
            outcome: self.outcome,
            arn: spare.text(self.arn),
            time: self.time,
            time_source: self.time_source,
        }
    }
}

/// One fired rule for one event, ready to render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// Position in `Records` when the record is a batch.
    pub index: Option<usize>,
    pub rule: Rule,
    pub candidate: Candidate,
    /// The identity key the rule tracks (rule A: by `identity_key`; rule B: the ARN).
    pub identity_key: String,
    pub identity_type: Option<String>,
    pub user_name: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    /// `awsRegion` / `cloud.region`, for findings.
    pub region: Option<String>,
    pub reason: String,
    /// Rule A: when this key was last seen before (outside the window), if ever.
    pub previous_seen: Option<i64>,
}

/// The autonomous system of an event's source address, for `enrich_all`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceAs {
    pub number: u32,
    pub organisation: &'static str,
    /// The VPN list category, if the ASN is on the list.
    pub category: Option<String>,
}

/// The first of the shared conditions ([`Evaluator::candidate`]) that an event does
/// not meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotCandidate {
    NoProvider,
    ProviderNotListed,
    NoAction,
    ActionNotListed,
    NoSourceIp,
    /// A service name (`ec2.amazonaws.com`, `AWS Internal`) rather than an address.
    SourceNotAnIp,
    /// Private, loopback or unrouted address.
    NoAsn,
    AsnNotListed(u32),
    NoPrincipal,
    ExcludedPrincipal,
    AwsService,
    Allowlisted,
}

impl NotCandidate {
    /// The name of the condition it fails, as `vpnrecon explain` lists conditions.
    pub fn condition(self) -> &'static str {
        match self {
            NotCandidate::NoProvider | NotCandidate::ProviderNotListed => "provider",
            NotCandidate::NoAction | NotCandidate::ActionNotListed => "action",
            NotCandidate::NoSourceIp | NotCandidate::SourceNotAnIp => "source_ip",
            NotCandidate::NoAsn => "source_asn",
            NotCandidate::AsnNotListed(_) => "vpn_list",
            NotCandidate::NoPrincipal => "principal",
            NotCandidate::ExcludedPrincipal => "exclusions",
            NotCandidate::AwsService => "identity_type",
            NotCandidate::Allowlisted => "allowlists",
        }
    }

    /// One sentence for an analyst.
    pub fn describe(self) -> String {
        match self {
            NotCandidate::NoProvider => "no event source (provider)".to_owned(),
            NotCandidate::ProviderNotListed => "provider is not on the provider list".to_owned(),
            NotCandidate::NoAction => "no action (eventName)".to_owned(),
            NotCandidate::ActionNotListed => "action is not a listed discovery action".to_owned(),
            NotCandidate::NoSourceIp => "no source IP address".to_owned(),
            NotCandidate::SourceNotAnIp => "source is a service name, not an IP address".to_owned(),
            NotCandidate::NoAsn => {
                "source address has no ASN (private, loopback or unrouted)".to_owned()
            }
            NotCandidate::AsnNotListed(asn) => format!("AS{asn} is not on the VPN ASN list"),
            NotCandidate::NoPrincipal => "no principal ARN".to_owned(),
            NotCandidate::ExcludedPrincipal => {
                "principal is excluded (e.g. AWSServiceRoleForConfig)".to_owned()
            }
            NotCandidate::AwsService => "identity type AWSService".to_owned(),
            NotCandidate::Allowlisted => {
                "principal, account or source address is allowlisted".to_owned()
            }
        }
    }
}

/// Configuration, state and the ASN table: everything that judges an event.
pub struct Evaluator {
    loaded: config::Loaded,
    state: State,
    table: Option<&'static asn_data::Table<'static>>,
    sieve: ActionSieve,
    actions: ActionSet,
    memo: prefilter::Memo,
    /// The address the prefilter last read and what it found for it.
    source: Cell<Option<SourceFinding>>,
    /// Buffers of rendered detections, for the next ones ([`Evaluator::recycle`]).
    spare: spare::Spare,
}

/// A `sourceIPAddress` text as the prefilter read it: its address and, when the
/// prefilter looked it up, its AS number. Handed to the rules, which read the same
/// text of the same record and would find the same: they use it only when the text
/// is byte for byte the one they read (the prefilter may not have run, or run on
/// another record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SourceFinding {
    text: [u8; SourceFinding::MAX_TEXT],
    len: usize,
    ip: IpAddr,
    /// `Some` when looked up: `Table::lookup_number` of `ip`.
    number: Option<Option<u32>>,
}

impl SourceFinding {
    /// Longer than any address text (an IPv6 address with an embedded IPv4 is 45).
    const MAX_TEXT: usize = 48;

    fn new(text: &[u8], ip: IpAddr, number: Option<Option<u32>>) -> Option<SourceFinding> {
        let mut copy = [0u8; SourceFinding::MAX_TEXT];
        copy.get_mut(..text.len())?.copy_from_slice(text);
        Some(SourceFinding {
            text: copy,
            len: text.len(),
            ip,
            number,
        })
    }

    fn is_for(&self, text: &[u8]) -> bool {
        self.text
            .get(..self.len)
            .is_some_and(|mine| crate::scan::bytes_eq(mine, text))
    }
}

/// The configured actions, bucketed by their [`ActionSieve`] bit: an exact set whose
/// lookup compares a name with the one or two actions of its bucket, where the
/// sorted-list search of [`Config::has_action`] costs over a thousand wasm
/// instructions. The prefilter asks it for every record with a configured action.
struct ActionSet(Vec<Vec<Box<[u8]>>>);

impl ActionSet {
    fn new(actions: &[String]) -> ActionSet {
        let mut buckets = vec![Vec::new(); 256];
        for action in actions {
            let name = action::normalise_bytes(action.as_bytes());
            if let Some(bucket) = buckets.get_mut(ActionSieve::bit(name)) {
                bucket.push(Box::from(name));
            }
        }
        ActionSet(buckets)
    }

    /// Whether `name` (already normalised) is a configured action.
    #[inline]
    fn contains(&self, name: &[u8]) -> bool {
        self.0
            .get(ActionSieve::bit(name))
            .is_some_and(|bucket| bucket.iter().any(|a| crate::scan::bytes_eq(a, name)))
    }
}

/// A 256-bit sieve over the configured actions, keyed by length, first and last
/// byte. The prefilter asks it before [`Config::has_action`]: most action names
/// that are not on the list (`Decrypt`, `GetObject`, `AssumeRole`, …) miss it in a
/// handful of wasm instructions, where the sorted-list search costs hundreds.
/// Only a miss is final, so a collision merely costs the full check.
struct ActionSieve([u64; 4]);

impl ActionSieve {
    fn new(actions: &[String]) -> ActionSieve {
        let mut bits = [0u64; 4];
        for action in actions {
            let bit = ActionSieve::bit(action.as_bytes());
            if let Some(word) = bits.get_mut(bit / 64) {
                *word |= 1 << (bit % 64);
            }
        }
        ActionSieve(bits)
    }

    #[inline]
    fn bit(name: &[u8]) -> usize {
        let first = usize::from(name.first().copied().unwrap_or(0));
        let last = usize::from(name.last().copied().unwrap_or(0));
        (name.len().wrapping_mul(31) ^ first.wrapping_mul(7) ^ last.wrapping_mul(13)) & 255
    }

    /// `false` only if `name` is certainly not one of the actions.
    #[inline]
    fn may_hold(&self, name: &[u8]) -> bool {
        let bit = ActionSieve::bit(name);
        self.0
            .get(bit / 64)
            .is_some_and(|w| w >> (bit % 64) & 1 == 1)
    }
}

impl Evaluator {
    pub fn new(loaded: config::Loaded, state: State) -> Evaluator {
        let sieve = ActionSieve::new(&loaded.config.actions);
        let actions = ActionSet::new(&loaded.config.actions);
        Evaluator {
            loaded,
            state,
            table: asn_data::baked(),
            sieve,
            actions,
            memo: prefilter::Memo::default(),
            source: Cell::new(None),
            spare: spare::Spare::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.loaded.config
    }

    pub fn loaded(&self) -> &config::Loaded {
        &self.loaded
    }

    pub fn config_error(&self) -> Option<&ConfigError> {
        self.loaded.error.as_ref()
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn table(&self) -> Option<&'static asn_data::Table<'static>> {
        self.table
    }

    /// Takes back detections that are no longer needed (rendered): their strings
    /// hold the next detections' fields. Leaves `detections` empty.
    pub fn recycle(&mut self, detections: &mut Vec<Detection>) {
        self.spare.keep_all(detections);
    }

    /// Cheap test that a record may hold a candidate; `false` is final.
    pub fn prefilter(&mut self, record: &[u8]) -> bool {
        let judge = Screening {
            sieve: &self.sieve,
            actions: &self.actions,
            table: self.table,
            config: &self.loaded.config,
            source: &self.source,
        };
        prefilter::may_hold_candidate(record, &judge, &mut self.memo)
    }

    /// The configuration and the ASN table as the shared conditions read them,
    /// borrowed apart from the state.
    fn screening(&self) -> Screening<'_> {
        Screening {
            sieve: &self.sieve,
            actions: &self.actions,
            table: self.table,
            config: &self.loaded.config,
            source: &self.source,
        }
    }

    /// Judges one event; counts candidates and detections.
    pub fn evaluate(
        &mut self,
        index: Option<usize>,
        event: &Event<'_>,
        record_time: RecordTime,
        counters: &mut Counters,
    ) -> Option<Detection> {
        let screening = Screening {
            sieve: &self.sieve,
            actions: &self.actions,
            table: self.table,
            config: &self.loaded.config,
            source: &self.source,
        };
        let candidate = screening.screen(event, record_time).ok()?;
        counters.candidates = counters.candidates.wrapping_add(1);
        let config = &self.loaded.config;
        let detection = if workload::is_workload(event, config) {
            if !config.rule_workload {
                return None;
            }
            workload::evaluate(index, event, &candidate, &mut self.state, &mut self.spare)?
        } else {
            if !config.rule_discovery {
                return None;
            }
            discovery::evaluate(
                index,
                event,
                &candidate,
                config,
                &mut self.state,
                &mut self.spare,
            )?
        };
        let mut detection = detection;
        if let Some(range) = &detection.candidate.range {
            // The analyst sees which piece of local intelligence made it a VPN source.
            // Written onto the reason in place, so its (recycled) buffer is kept.
            use std::fmt::Write;
            let _ = write!(
                detection.reason,
                "; source in local VPN range {} ({})",
                range.net, range.label
            );
        }
        match detection.rule {
            Rule::DiscoveryNewIdentity => {
                counters.detections_discovery = counters.detections_discovery.wrapping_add(1)
            }
            Rule::Workload => {
                counters.detections_workload = counters.detections_workload.wrapping_add(1)
            }
        }
        Some(detection)
    }

    /// Which rule would judge `event` if it is a candidate, without consulting or
    /// changing state: the match condition alone, as a rule exported to a SIEM (which
    /// has no first-seen history or hourly dedup) expresses it. `None` when the event
    /// is not a candidate or its rule is switched off.
    pub fn candidate_rule(&self, event: &Event<'_>, record_time: RecordTime) -> Option<Rule> {
        self.screening().screen(event, record_time).ok()?;
        let config = &self.loaded.config;
        if workload::is_workload(event, config) {
            config.rule_workload.then_some(Rule::Workload)
        } else {
            config.rule_discovery.then_some(Rule::DiscoveryNewIdentity)
        }
    }

    /// The conditions both rules share (README.md's rules table; filter/CONFIG.md for
    /// the lists): provider, action, ASN, principal exclusions, identity type and
    /// allowlists. Reads configuration and the ASN table only, never state, so tools
    /// (`vpnrecon baseline`, `explain`) can ask it without changing anything.
    pub fn candidate(&self, event: &Event<'_>, record_time: RecordTime) -> Option<Candidate> {
        self.screen(event, record_time).ok()
    }

    /// [`Evaluator::candidate`] with the first condition an event fails, for
    /// explaining a verdict (the triage page). Reads no state.
    pub fn screen(
        &self,
        event: &Event<'_>,
        record_time: RecordTime,
    ) -> Result<Candidate, NotCandidate> {
        self.screening()
            .screen(event, record_time)
            .map(|screened| screened.to_candidate())
    }

    /// Whether a candidate is judged by rule B (workload) rather than rule A.
    pub fn is_workload(&self, event: &Event<'_>) -> bool {
        workload::is_workload(event, &self.loaded.config)
    }

    /// `source_as` for `enrich_all`: the ASN of a public source address, with its
    /// list category (the output module renders it).
    pub fn enrichment(&self, event: &Event<'_>) -> Option<SourceAs> {
        let ip = asn_data::parse_ip(event.source_ip.as_deref()?).ok()?;
        let asn = self.table?.lookup(ip)?;
        Some(SourceAs {
            number: asn.number,
            organisation: asn.organisation,
            category: self
                .loaded
                .config
                .vpn_source(ip, Some(asn.number))
                .map(|s| s.category().to_owned()),
        })
    }
}

/// What the prefilter asks of the configuration and the ASN table (borrowed apart
/// from the prefilter's memo, which changes from record to record).
struct Screening<'e> {
    sieve: &'e ActionSieve,
    actions: &'e ActionSet,
    table: Option<&'static asn_data::Table<'static>>,
    config: &'e Config,
    source: &'e Cell<Option<SourceFinding>>,
}

impl<'e> Screening<'e> {
    /// [`Evaluator::screen`], borrowing what it finds.
    fn screen(
        &self,
        event: &'e Event<'_>,
        record_time: RecordTime,
    ) -> Result<Screened<'e>, NotCandidate> {
        let config: &'e Config = self.config;
        let provider = event.provider.as_deref().ok_or(NotCandidate::NoProvider)?;
        if !config.has_provider(provider) {
            return Err(NotCandidate::ProviderNotListed);
        }
        let action =
            action::normalise_action(event.action.as_deref().ok_or(NotCandidate::NoAction)?);
        // The exact set the prefilter asks (`Config::has_action`'s sorted search costs
        // over a thousand wasm instructions; tests hold the two equal).
        if !prefilter::Judge::is_action(self, action.as_bytes()) {
            return Err(NotCandidate::ActionNotListed);
        }
        let source = event.source_ip.as_deref().ok_or(NotCandidate::NoSourceIp)?;
        let found = self
            .source
            .get()
            .filter(|found| found.is_for(source.as_bytes()));
        let ip = match found {
            Some(found) => found.ip,
            None => parse_address(source).ok_or(NotCandidate::SourceNotAnIp)?,
        };
        let asn = match found.and_then(|found| found.number) {
            Some(number) => number,
            None => self.table.and_then(|table| table.lookup_number(ip)),
        };
        let in_table = Organisation::Table(self.table);
        // A local range counts whatever the ASN (AS0 when the table has none).
        let (number, organisation, category, range) = match (config.vpn_source(ip, asn), asn) {
            (Some(config::VpnSource::Range(r)), asn) => (
                asn.unwrap_or(0),
                asn.map_or(Organisation::Label(r.label.as_str()), |_| in_table),
                config::LOCAL_CATEGORY,
                Some(r),
            ),
            (Some(config::VpnSource::Asn(listed)), Some(a)) => {
                (a, in_table, listed.category.as_str(), None)
            }
            (_, Some(a)) => return Err(NotCandidate::AsnNotListed(a)),
            (_, None) => return Err(NotCandidate::NoAsn),
        };
        let arn = event.arn.as_deref().ok_or(NotCandidate::NoPrincipal)?;
        if arn.is_empty() {
            return Err(NotCandidate::NoPrincipal);
        }
        if config.is_excluded_principal(arn) {
            return Err(NotCandidate::ExcludedPrincipal);
        }
        if event.identity_type.as_deref() == Some("AWSService") {
            return Err(NotCandidate::AwsService);
        }
        if config.is_allowlisted(arn, event.account_id.as_deref(), ip) {
            return Err(NotCandidate::Allowlisted);
        }
        let (time, time_source) = match event.time.as_deref().and_then(parse_event_time) {
            Some(t) => (t, TimeSource::Event),
            None => (i64::from(record_time.sec), TimeSource::Record),
        };
        Ok(Screened {
            source_ip: ip,
            asn: number,
            organisation,
            category,
            range,
            action,
            provider,
            outcome: event.outcome().as_str(),
            arn,
            time,
            time_source,
        })
    }
}

impl prefilter::Judge for Screening<'_> {
    /// The prefilter hands over names already normalised, and normalising is
    /// idempotent, so the sieve and the set (built from the stored list, normalised)
    /// see exactly the name that `has_action` looks up.
    fn is_action(&self, name: &[u8]) -> bool {
        self.sieve.may_hold(name) && self.actions.contains(name)
    }

    /// Whether the decoded `sourceIPAddress` text of the record's only event (`None`:
    /// absent or not a string, which no ASN matches) could
    /// pass the ASN condition of [`Evaluator::candidate`]: the full evaluation parses
    /// exactly this text, so an address that does not parse, is in no ASN or in one
    /// not on the VPN list is final. Text that is not UTF-8 goes to the full
    /// evaluation, which counts the record as unparsable.
    fn may_be_vpn_source(&self, raw: Option<&[u8]>) -> bool {
        // No address: no ASN, so no candidate.
        let Some(raw) = raw else {
            return false;
        };
        let ip = match quick_address(raw) {
            Quick::NotAnAddress => return false,
            Quick::V4(ip) => std::net::IpAddr::V4(ip),
            Quick::Other => {
                let Ok(text) = std::str::from_utf8(raw) else {
                    return true;
                };
                let Ok(ip) = asn_data::parse_ip(text) else {
                    return false;
                };
                ip
            }
        };
        // A local range counts whatever the ASN; checked first as it is cheap
        // (nothing at all without `add_vpn_cidrs`).
        let (may, number) = if self.config.vpn_range(ip).is_some() {
            (true, None)
        } else {
            let number = self.table.and_then(|table| table.lookup_number(ip));
            let listed = number.is_some_and(|number| self.config.vpn_category(number).is_some());
            (listed, Some(number))
        };
        // Only for an address that goes on to the rules: the others pay nothing.
        if may {
            self.source.set(SourceFinding::new(raw, ip, number));
        }
        may
    }
}

/// The address in a `sourceIPAddress` text, as [`asn_data::parse_ip`] reads it; a
/// plain dotted quad without the general parser (tests hold them equal).
fn parse_address(text: &str) -> Option<IpAddr> {
    match quick_address(text.as_bytes()) {
        Quick::V4(ip) => Some(IpAddr::V4(ip)),
        Quick::NotAnAddress => None,
        Quick::Other => asn_data::parse_ip(text).ok(),
    }
}

/// What the bytes of a `sourceIPAddress` value are, judged without the general
/// parser (which costs over a thousand wasm instructions even to say no).
#[derive(Debug, PartialEq, Eq)]
enum Quick {
    /// ASCII with a byte no address can hold once trimmed (`AWS Internal`,
    /// `ec2.amazonaws.com`): [`asn_data::parse_ip`] would fail.
    NotAnAddress,
    /// A plain dotted quad, as [`asn_data::parse_ip`] reads it.
    V4(std::net::Ipv4Addr),
    /// Anything else (IPv6, whitespace, non-ASCII): ask the general parser.
    Other,
}

fn quick_address(raw: &[u8]) -> Quick {
    let mut octets = [0u8; 4];
    let (mut index, mut value, mut digits) = (0usize, 0u32, 0u32);
    let mut plain = true;
    for &b in raw {
        match b {
            b'0'..=b'9' => {
                // A leading zero makes the octet invalid for the general parser too;
                // leave such text to it.
                plain &= !(digits == 1 && value == 0);
                value = value.saturating_mul(10).saturating_add(u32::from(b - b'0'));
                digits = digits.saturating_add(1);
                plain &= digits <= 3 && value <= 255;
            }
            b'.' => {
                plain &= digits > 0 && index < 3;
                if let Some(slot) = octets.get_mut(index) {
                    *slot = value as u8;
                }
                index = index.saturating_add(1);
                (value, digits) = (0, 0);
            }
            // Characters an address (or the whitespace that `str::trim` removes)
            // may hold.
            b'a'..=b'f' | b'A'..=b'F' | b':' | b'\t'..=b'\r' | b' ' => plain = false,
            // Non-ASCII: `str::trim` removes Unicode whitespace, so it is not final.
            0x80.. => return Quick::Other,
            _ => return Quick::NotAnAddress,
        }
    }
    if plain && index == 3 && digits > 0 {
        if let Some(slot) = octets.get_mut(3) {
            *slot = value as u8;
        }
        return Quick::V4(std::net::Ipv4Addr::from(octets));
    }
    Quick::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_set_is_has_action() {
        let mut config = config::Config::default();
        config.actions.push("ListFunctions".to_owned());
        config.actions.sort();
        let set = ActionSet::new(&config.actions);
        let names = [
            "ListUsers",
            "ListUser",
            "ListUsersX",
            "listusers",
            "ListFunctions",
            "Decrypt",
            "GetCallerIdentity",
            "",
            "ListKeys",
            "ListAliases",
            "DescribeDBSnapshots",
        ];
        for name in names {
            let name = action::normalise_bytes(name.as_bytes());
            assert_eq!(
                set.contains(name),
                config.has_action(name),
                "{}",
                String::from_utf8_lossy(name)
            );
        }
        for action in &config.actions {
            assert!(set.contains(action.as_bytes()), "{action}");
        }
    }

    /// The quick reading of an address agrees with the general parser wherever it
    /// answers on its own.
    #[test]
    fn quick_address_agrees_with_the_parser() {
        for text in [
            "8.8.8.8",
            "2.56.16.10",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            ".1.2.3",
            "1.2.3.",
            "AWS Internal",
            "ec2.amazonaws.com",
            " 8.8.8.8",
            "8.8.8.8\u{b}",
            "\u{a0}8.8.8.8",
            "::ffff:2.56.16.10",
            "2001:db8::1",
            "",
            "1234",
            "1.2.3.4/24",
            "99999999999999999999.1.1.1",
        ] {
            let parsed = asn_data::parse_ip(text).ok();
            match quick_address(text.as_bytes()) {
                Quick::NotAnAddress => assert_eq!(parsed, None, "{text:?}"),
                Quick::V4(ip) => assert_eq!(parsed, Some(std::net::IpAddr::V4(ip)), "{text:?}"),
                Quick::Other => {}
            }
        }
        assert_eq!(
            quick_address(b"2.56.16.10"),
            Quick::V4(std::net::Ipv4Addr::new(2, 56, 16, 10))
        );
        assert_eq!(quick_address(b"AWS Internal"), Quick::NotAnAddress);
    }

    #[test]
    fn action_sieve_holds_every_configured_action() {
        let actions = config::Config::default().actions;
        let sieve = ActionSieve::new(&actions);
        for action in &actions {
            assert!(sieve.may_hold(action.as_bytes()), "{action}");
        }
        // Common CloudTrail calls that are not discovery calls mostly miss.
        let others = [
            "Decrypt",
            "GetObject",
            "PutObject",
            "AssumeRole",
            "GenerateDataKey",
            "ConsoleLogin",
            "PutMetricData",
            "RunInstances",
            "CreateLogStream",
            "GetParameter",
        ];
        let misses = others
            .iter()
            .filter(|o| !sieve.may_hold(o.as_bytes()))
            .count();
        assert!(misses >= 7, "only {misses} of {} missed", others.len());
        // An empty list holds nothing.
        assert!(!ActionSieve::new(&[]).may_hold(b"ListUsers"));
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for name in [
            "ListFunctions20150331",
            "GetFunction20150331v2",
            "X2015033120150331",
            "Xv220150331",
            "ListFunctions20150331v",
            "20150331",
            "a20150331v20150331",
        ] {
            let once = action::normalise_bytes(name.as_bytes());
            assert_eq!(action::normalise_bytes(once), once, "{name}");
        }
    }

    /// `add_vpn_cidrs`: local intelligence counts like a listed ASN, the narrowest
    /// range names it, `allow_cidrs` wins, and the prefilter lets it through.
    mod local_ranges {
        use super::*;
        use crate::state::StateConfig;

        const TOML: &str = r#"
add_vpn_cidrs = [
    { cidr = "8.8.0.0/16", label = "wide feed" },
    { cidr = "8.8.8.0/24", label = "ACME VPN exits" },
    { cidr = "10.0.0.0/8", label = "lab VPN" },
]
allow_cidrs = ["8.8.8.128/25"]
"#;

        fn evaluator(text: &str) -> Evaluator {
            let loaded = config::load_text(text, "vpnrecon.toml", &mut |_| {});
            assert_eq!(loaded.error, None);
            Evaluator::new(loaded, State::in_memory(StateConfig::default()))
        }

        fn event(ip: &str) -> Event<'static> {
            Event {
                action: Some("ListUsers".into()),
                provider: Some("iam.amazonaws.com".into()),
                time: Some("2026-06-01T12:00:00Z".into()),
                source_ip: Some(ip.to_owned().into()),
                arn: Some("arn:aws:iam::111122223333:user/alice".into()),
                identity_type: Some("IAMUser".into()),
                user_name: Some("alice".into()),
                account_id: Some("111122223333".into()),
                ..Event::default()
            }
        }

        fn record(ip: &str) -> String {
            format!(
                r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"}},"eventTime":"2026-06-01T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","sourceIPAddress":"{ip}"}}"#
            )
        }

        #[test]
        fn addresses_in_a_range_are_candidates_with_category_local() {
            let plain = evaluator("");
            let tuned = evaluator(TOML);
            let time = RecordTime::default();
            // 8.8.8.8 is Google's AS15169, not on the list: only the range makes it count.
            assert_eq!(
                plain.screen(&event("8.8.8.8"), time),
                Err(NotCandidate::AsnNotListed(15169))
            );
            let c = tuned.screen(&event("8.8.8.8"), time).expect("candidate");
            assert_eq!((c.asn, c.category.as_str()), (15169, "local"));
            assert_eq!(c.range.map(|r| r.label), Some("ACME VPN exits".to_owned()));
            // Outside the /24 but inside the /16: the wider range's label.
            let c = tuned.screen(&event("8.8.4.4"), time).expect("candidate");
            assert_eq!(c.range.map(|r| r.label), Some("wide feed".to_owned()));
            // IPv4-mapped IPv6 is the IPv4 address.
            let c = tuned
                .screen(&event("::ffff:8.8.8.8"), time)
                .expect("candidate");
            assert_eq!(c.category, "local");
            // allow_cidrs wins.
            assert_eq!(
                tuned.screen(&event("8.8.8.200"), time),
                Err(NotCandidate::Allowlisted)
            );
            // A private address has no ASN: counted as AS0, named by the label.
            assert_eq!(
                plain.screen(&event("10.1.2.3"), time),
                Err(NotCandidate::NoAsn)
            );
            let c = tuned.screen(&event("10.1.2.3"), time).expect("candidate");
            assert_eq!((c.asn, c.organisation.as_str()), (0, "lab VPN"));
            // A listed ASN outside every range keeps its own category (asn_data/vpn_asns.toml).
            let c = tuned
                .screen(&event("146.70.117.42"), time)
                .expect("candidate");
            assert_eq!(
                (c.asn, c.category.as_str(), c.range),
                (9009, "vpn-hosting", None)
            );
        }

        #[test]
        fn the_prefilter_and_the_rule_honour_ranges() {
            let mut plain = evaluator("");
            let mut tuned = evaluator(TOML);
            for (ip, in_range) in [("8.8.8.8", true), ("10.1.2.3", true), ("9.9.9.9", false)] {
                let text = record(ip);
                assert!(!plain.prefilter(text.as_bytes()), "{ip}");
                assert_eq!(tuned.prefilter(text.as_bytes()), in_range, "{ip}");
            }
            let mut counters = crate::Counters::default();
            let d = tuned
                .evaluate(
                    None,
                    &event("8.8.8.8"),
                    RecordTime::default(),
                    &mut counters,
                )
                .expect("rule A fires");
            assert_eq!(d.identity_key, "111122223333/alice/AS15169");
            assert!(
                d.reason
                    .ends_with("; source in local VPN range 8.8.8.0/24 (ACME VPN exits)"),
                "{}",
                d.reason
            );
        }

        /// What the prefilter hands over changes no verdict: after the prefilter read
        /// any record, screening any event gives what screening it afresh gives
        /// (stale or foreign findings included), with and without local ranges.
        #[test]
        fn the_prefilters_findings_change_nothing() {
            let addresses = [
                "146.70.117.42",
                "146.70.117.43",
                "::ffff:146.70.117.42",
                "8.8.8.8",
                "8.8.8.200",
                "10.1.2.3",
                "9.9.9.9",
                "2001:4860:4860::8888",
                " 146.70.117.42",
                "ec2.amazonaws.com",
            ];
            let time = RecordTime::default();
            for config in ["", TOML] {
                let fresh = evaluator(config);
                let mut handed = evaluator(config);
                let mut used = 0;
                for read in addresses {
                    let passed = handed.prefilter(record(read).as_bytes());
                    for screened in addresses {
                        let expected = fresh.screen(&event(screened), time);
                        assert_eq!(
                            handed.screen(&event(screened), time),
                            expected,
                            "prefilter read {read}, screened {screened}"
                        );
                        used += usize::from(passed && read == screened && expected.is_ok());
                    }
                }
                // The hand-over was there to be used.
                assert!(used >= 2, "{used}");
            }
        }

        /// A candidate's organisation is looked up by its number: the ASN's entry
        /// is the one the address lookup finds.
        #[test]
        fn organisation_by_number_is_the_lookups() {
            let Some(table) = asn_data::baked() else {
                return;
            };
            for asn in table.asns() {
                assert_eq!(table.organisation(asn.number), Some(asn.organisation));
            }
            let c = evaluator("")
                .screen(&event("146.70.117.42"), RecordTime::default())
                .expect("candidate");
            let ip = "146.70.117.42".parse().expect("address");
            assert_eq!(
                table.lookup(ip).map(|a| a.organisation.to_owned()),
                Some(c.organisation)
            );
        }

        #[test]
        fn range_entries_are_checked() {
            let error = |text: &str| {
                config::parse(text, "vpnrecon.toml")
                    .err()
                    .map(|e| e.describe())
                    .unwrap_or_default()
            };
            let e = error(r#"add_vpn_cidrs = [{ cidr = "8.8.8.0/24" }]"#);
            assert!(
                e.contains("line 1") && e.contains("VPN range without \"label\""),
                "{e}"
            );
            let e = error(r#"add_vpn_cidrs = [{ cidr = "8.8.8.0/33", label = "x" }]"#);
            assert!(
                e.contains("expected a CIDR") && e.contains("8.8.8.0/33"),
                "{e}"
            );
            let e = error(r#"add_vpn_cidrs = [{ cidr = "8.8.8.0/24", lable = "x" }]"#);
            assert!(e.contains("did you mean \"label\""), "{e}");
            let e = error(r#"add_vpn_cidrs = [{ cidr = "8.8.8.0/24", label = " " }]"#);
            assert!(e.contains("label of 1 to 200"), "{e}");
            let e = error(
                r#"add_vpn_cidrs = [{ cidr = "8.8.8.0/24", label = "a" }, { cidr = "8.8.8.9/24", label = "b" }]"#,
            );
            assert!(e.contains("8.8.8.0/24 is listed twice"), "{e}");
            let e = error(r#"add_vpn_cidrs = ["8.8.8.0/24"]"#);
            assert!(e.contains("add_vpn_cidrs") && e.contains("cidr ="), "{e}");
        }
    }
}
