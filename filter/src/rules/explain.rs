//! Why an event does or does not fire: every condition of rules A and B with the
//! value it was decided on, read from the evaluator's configuration and state
//! without changing either (`vpnrecon explain`).
//!
//! The conditions are checked in the order [`Evaluator::candidate`] checks them, and
//! the state keys come from the rules' own `state_key` functions; the test suite
//! compares every verdict with what [`Evaluator::evaluate`] then does.

use super::{discovery, workload, Evaluator, NotCandidate, Rule, TimeSource};
use crate::config::{VpnSource, LOCAL_CATEGORY};
use crate::event::{parse_event_time, session_name, Event};
use crate::output::{format_duration, format_time};
use crate::prefilter;
use crate::state::FirstSeen;
use crate::RecordTime;

/// One condition of the shared candidate test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// Short stable name (`provider`, `action`, `source_ip`, …).
    pub name: &'static str,
    pub passed: bool,
    /// What was found, in words.
    pub detail: String,
}

/// Rule A's view of a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleAView {
    pub enabled: bool,
    /// `account/identity/AS<n>`, as detections print it.
    pub key: String,
    pub event_time: i64,
    /// Last candidate time stored for the key before this event.
    pub last_seen: Option<i64>,
    pub window_secs: i64,
    /// The key is new: no last-seen, or last-seen more than the window before.
    pub new: bool,
    pub detail: String,
}

/// Rule B's view of a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleBView {
    pub enabled: bool,
    /// `arn/AS<n>/action`, as detections print it.
    pub key: String,
    /// UTC clock hour start, Unix seconds.
    pub hour_start: i64,
    pub first_this_hour: bool,
}

/// The workload test of rule B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadView {
    pub workload: bool,
    pub detail: String,
}

/// Everything about one event, in evaluation order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub conditions: Vec<Condition>,
    /// All conditions passed: the event is a candidate of one of the two rules.
    pub candidate: bool,
    pub normalised_action: Option<String>,
    pub asn: Option<u32>,
    pub organisation: Option<String>,
    pub category: Option<String>,
    pub time: Option<(i64, TimeSource)>,
    pub workload: Option<WorkloadView>,
    pub rule_a: Option<RuleAView>,
    pub rule_b: Option<RuleBView>,
    /// The rule that fires, if any.
    pub fires: Option<Rule>,
    /// The verdict in one sentence.
    pub verdict: String,
    /// The configuration error the rules run under, if any.
    pub config_error: Option<String>,
}

impl Evaluator {
    /// Explains what [`Evaluator::evaluate`] would decide for `event` now.
    pub fn explain(&self, event: &Event<'_>, record_time: RecordTime) -> Explanation {
        let mut x = Explanation {
            conditions: Vec::new(),
            candidate: false,
            normalised_action: None,
            asn: None,
            organisation: None,
            category: None,
            time: None,
            workload: None,
            rule_a: None,
            rule_b: None,
            fires: None,
            verdict: String::new(),
            config_error: self.config_error().map(|e| e.describe()),
        };
        let walked = self.candidate_conditions(event, record_time, &mut x);
        // The verdict is the rules' own (`screen`); the walk above only puts each
        // condition in words. Were they ever to disagree, say so rather than explain
        // a verdict the module does not reach.
        let screened = self.screen(event, record_time).err();
        let walked_failure = x.conditions.iter().find(|c| !c.passed).map(|c| c.name);
        x.candidate = screened.is_none();
        if walked != x.candidate || walked_failure != screened.map(NotCandidate::condition) {
            x.conditions.push(Condition {
                name: "verdict",
                passed: x.candidate,
                detail: match screened {
                    Some(why) => format!("the rules decide: not a candidate, {}", why.describe()),
                    None => "the rules decide: a candidate".to_owned(),
                },
            });
        }
        if !x.candidate {
            let failed = x
                .conditions
                .iter()
                .find(|c| !c.passed)
                .map_or("a condition failed", |c| c.detail.as_str());
            x.verdict = format!("no rule fires: {failed}");
            return x;
        }
        let Some(candidate) = self.candidate(event, record_time) else {
            x.verdict = "no rule fires: the event is not a candidate".to_owned();
            return x;
        };
        let config = self.config();
        let view = workload_view(event, config);
        let is_workload = view.workload;
        x.workload = Some(view);
        if is_workload {
            let key = workload::state_key(
                self.state(),
                &candidate.arn,
                candidate.asn,
                &candidate.action,
            );
            let hour = workload::hour_of(candidate.time);
            let first = self.state().peek_workload(key, hour);
            let enabled = config.rule_workload;
            x.rule_b = Some(RuleBView {
                enabled,
                key: format!("{}/AS{}/{}", candidate.arn, candidate.asn, candidate.action),
                hour_start: hour.saturating_mul(3600),
                first_this_hour: first,
            });
            x.verdict = match (enabled, first) {
                (false, _) => "no rule fires: workload candidates are judged by rule B only, and rule_workload = false".to_owned(),
                (true, false) => format!(
                    "no rule fires: rule B already alerted for this principal, ASN and action in the UTC hour starting {}",
                    format_time(hour.saturating_mul(3600))
                ),
                (true, true) => {
                    x.fires = Some(Rule::Workload);
                    format!(
                        "{} fires: workload credentials used from a VPN ASN, first time this UTC hour for this principal, ASN and action",
                        Rule::Workload.id()
                    )
                }
            };
            return x;
        }
        let Some(identity) = discovery::identity(event, config) else {
            x.verdict = "no rule fires: the event has no identity for rule A's key".to_owned();
            return x;
        };
        let account = event.account_id.as_deref().unwrap_or_default();
        let key = discovery::state_key(self.state(), account, identity, candidate.asn);
        let seen = self.state().peek_identity(key, candidate.time);
        let window = config.window_secs;
        let (last_seen, new) = match seen {
            FirstSeen::New { previous } => (previous, true),
            FirstSeen::Recent { last_seen } => (Some(last_seen), false),
        };
        let detail = window_arithmetic(candidate.time, last_seen, window, new);
        let enabled = config.rule_discovery;
        x.rule_a = Some(RuleAView {
            enabled,
            key: format!("{account}/{identity}/AS{}", candidate.asn),
            event_time: candidate.time,
            last_seen,
            window_secs: window,
            new,
            detail: detail.clone(),
        });
        x.verdict = match (enabled, new) {
            (false, _) => "no rule fires: rule_discovery = false".to_owned(),
            (true, false) => format!("no rule fires: {detail}"),
            (true, true) => {
                x.fires = Some(Rule::DiscoveryNewIdentity);
                format!("{} fires: {detail}", Rule::DiscoveryNewIdentity.id())
            }
        };
        x
    }

    /// Each shared condition with its value; `true` when all hold.
    fn candidate_conditions(
        &self,
        event: &Event<'_>,
        record_time: RecordTime,
        x: &mut Explanation,
    ) -> bool {
        let config = self.config();
        let mut check = |name: &'static str, passed: bool, detail: String| {
            x.conditions.push(Condition {
                name,
                passed,
                detail,
            });
            passed
        };
        let Some(provider) = event.provider.as_deref() else {
            return check("provider", false, "the event has no eventSource".to_owned());
        };
        if !check(
            "provider",
            config.has_provider(provider),
            format!(
                "provider {provider} {}",
                if config.has_provider(provider) {
                    "is configured"
                } else {
                    "is not one of the configured providers"
                }
            ),
        ) {
            return false;
        }
        let Some(raw_action) = event.action.as_deref() else {
            return check("action", false, "the event has no eventName".to_owned());
        };
        let action = prefilter::normalise_action(raw_action);
        x.normalised_action = Some(action.to_owned());
        let spelled = if action == raw_action {
            String::new()
        } else {
            format!(" (normalised from {raw_action})")
        };
        let configured = config.has_action(action.as_bytes());
        if !check(
            "action",
            configured,
            format!(
                "action {action}{spelled} {}",
                if configured {
                    "is configured"
                } else {
                    "is not one of the configured actions"
                }
            ),
        ) {
            return false;
        }
        let Some(source) = event.source_ip.as_deref() else {
            return check(
                "source_ip",
                false,
                "the event has no sourceIPAddress".to_owned(),
            );
        };
        let Ok(ip) = asn_data::parse_ip(source) else {
            return check(
                "source_ip",
                false,
                format!("source {source:?} is not an IP address (a service name has no ASN)"),
            );
        };
        check("source_ip", true, format!("source {ip} is an IP address"));
        let asn = self.table().and_then(|t| t.lookup(ip));
        // One decision, as `screen` makes it: a local range first, then the list.
        let source = config.vpn_source(ip, asn.as_ref().map(|a| a.number));
        match (&asn, source) {
            (Some(asn), _) => {
                x.asn = Some(asn.number);
                x.organisation = Some(asn.organisation.to_owned());
                check(
                    "source_asn",
                    true,
                    format!("{ip} is in AS{} {}", asn.number, asn.organisation),
                );
            }
            // A local range counts without an ASN (reported as AS0).
            (None, Some(VpnSource::Range(r))) => {
                x.asn = Some(0);
                x.organisation = Some(r.label.clone());
                check(
                    "source_asn",
                    true,
                    format!("no AS announces {ip}; it is in a local VPN range, counted as AS0"),
                );
            }
            (None, _) => {
                return check(
                    "source_asn",
                    false,
                    format!("no AS announces {ip} (private, reserved or unrouted)"),
                );
            }
        }
        let number = x.asn.unwrap_or(0);
        x.category = source.map(|s| s.category().to_owned());
        if !check(
            "vpn_list",
            source.is_some(),
            match source {
                Some(VpnSource::Range(r)) => format!(
                    "{ip} is in the local VPN range {} ({}) of add_vpn_cidrs (category {})",
                    r.net, r.label, LOCAL_CATEGORY
                ),
                Some(VpnSource::Asn(a)) => {
                    format!("AS{number} is on the VPN list (category {})", a.category)
                }
                None => format!("AS{number} is not on the VPN list nor {ip} in add_vpn_cidrs"),
            },
        ) {
            return false;
        }
        let arn = event.arn.as_deref().filter(|a| !a.is_empty());
        let Some(arn) = arn else {
            return check(
                "principal",
                false,
                "the event has no principal ARN (userIdentity.arn)".to_owned(),
            );
        };
        check("principal", true, format!("principal {arn}"));
        let excluded = config
            .excluded_principal_substrings
            .iter()
            .find(|s| arn.contains(s.as_str()));
        if !check(
            "exclusions",
            excluded.is_none(),
            match excluded {
                Some(s) => format!("the principal ARN contains the excluded {s:?}"),
                None => "the principal ARN contains no excluded substring".to_owned(),
            },
        ) {
            return false;
        }
        let kind = event.identity_type.as_deref();
        if !check(
            "identity_type",
            kind != Some("AWSService"),
            format!(
                "identity type {}",
                kind.map_or("absent".to_owned(), |k| if k == "AWSService" {
                    "AWSService: calls made by AWS services are never candidates".to_owned()
                } else {
                    k.to_owned()
                })
            ),
        ) {
            return false;
        }
        let account = event.account_id.as_deref();
        let by_principal = config
            .allow_principals
            .iter()
            .find(|g| g.matches(arn))
            .map(|g| format!("allow_principals matches {:?}", g.as_str()));
        let by_account = account
            .filter(|a| config.allow_accounts.iter().any(|x| x == a))
            .map(|a| format!("allow_accounts holds {a}"));
        let by_network = config
            .allows_ip(ip)
            .then(|| format!("allow_cidrs holds {ip}"));
        let allowed = by_principal.or(by_account).or(by_network);
        if !check(
            "allowlists",
            allowed.is_none(),
            match &allowed {
                Some(why) => format!("allowlisted: {why}"),
                None => "no allowlist (principals, accounts, CIDRs) matches".to_owned(),
            },
        ) {
            return false;
        }
        let time = match event.time.as_deref().and_then(parse_event_time) {
            Some(t) => (t, TimeSource::Event),
            None => (i64::from(record_time.sec), TimeSource::Record),
        };
        x.time = Some(time);
        check(
            "time",
            true,
            match time.1 {
                TimeSource::Event => format!("event time {}", format_time(time.0)),
                TimeSource::Record => format!(
                    "eventTime missing or unparsable: record time {} is used",
                    format_time(time.0)
                ),
            },
        )
    }
}

fn workload_view(event: &Event<'_>, config: &crate::config::Config) -> WorkloadView {
    let workload = workload::is_workload(event, config);
    let arn = event.arn.as_deref().unwrap_or_default();
    let assumed =
        event.identity_type.as_deref() == Some("AssumedRole") || arn.contains(":assumed-role/");
    let detail = if !assumed {
        "not an assumed-role session, so not a workload: judged by rule A".to_owned()
    } else if let Some(session) = session_name(arn).filter(|s| workload::is_instance_id(s)) {
        format!("session name {session} is an EC2 instance id: a workload, judged by rule B")
    } else {
        let role = event
            .role_name
            .as_deref()
            .filter(|r| !r.is_empty())
            .or_else(|| {
                arn.split_once(":assumed-role/")
                    .and_then(|(_, path)| path.split('/').next())
            })
            .unwrap_or_default();
        match config
            .workload_role_patterns
            .iter()
            .find(|g| g.matches(role))
        {
            Some(g) if workload => format!(
                "role {role} matches the workload pattern {:?}: a workload, judged by rule B",
                g.as_str()
            ),
            _ => format!(
                "role {role} matches no workload pattern and the session is not an instance id: judged by rule A"
            ),
        }
    };
    WorkloadView { workload, detail }
}

/// Rule A's window arithmetic in words.
fn window_arithmetic(t: i64, last_seen: Option<i64>, window: i64, new: bool) -> String {
    let window_text = format_duration(window);
    let Some(last) = last_seen else {
        return format!("first seen for this key (no earlier candidate; window {window_text})");
    };
    let gap = t.saturating_sub(last);
    if gap < 0 {
        return format!(
            "the key was last seen {}, {} after this event (a late arrival is never new)",
            format_time(last),
            format_gap(gap.saturating_neg())
        );
    }
    let relation = if new {
        "more than"
    } else if gap == window {
        "exactly (not more than)"
    } else {
        "within"
    };
    format!(
        "last seen {}, {} before this event: {relation} the window of {window_text}{}",
        format_time(last),
        format_gap(gap),
        if new { " → new" } else { " → not new" }
    )
}

/// A gap in days, hours, minutes and seconds, with the exact seconds beside it
/// (`3d 2h 5s (266405 s)`), so the comparison with the window can be checked.
fn format_gap(secs: i64) -> String {
    let parts = [
        (secs / 86_400, "d"),
        (secs % 86_400 / 3600, "h"),
        (secs % 3600 / 60, "m"),
        (secs % 60, "s"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    match words.as_slice() {
        [] => "0s".to_owned(),
        [one] if secs < 60 => one.clone(),
        _ => format!("{} ({secs} s)", words.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Loaded;
    use crate::state::{State, StateConfig};
    use crate::Counters;

    fn event(time: &str) -> Event<'static> {
        Event {
            action: Some("ListUsers".into()),
            provider: Some("iam.amazonaws.com".into()),
            time: Some(time.to_owned().into()),
            source_ip: Some("146.70.117.42".into()),
            arn: Some("arn:aws:iam::111122223333:user/alice".into()),
            identity_type: Some("IAMUser".into()),
            user_name: Some("alice".into()),
            account_id: Some("111122223333".into()),
            ..Event::default()
        }
    }

    #[test]
    fn explaining_changes_no_state_and_predicts_the_evaluation() {
        let mut evaluator =
            Evaluator::new(Loaded::default(), State::in_memory(StateConfig::default()));
        let mut counters = Counters::default();
        for time in [
            "2026-06-01T12:00:00Z",
            "2026-06-01T12:00:09Z",
            "2026-06-11T12:00:09Z",
            "2026-06-21T12:00:10Z",
            "2026-06-01T00:00:00Z",
        ] {
            let e = event(time);
            let before = evaluator.state().snapshot();
            let x = evaluator.explain(&e, RecordTime::default());
            let again = evaluator.explain(&e, RecordTime::default());
            assert_eq!(x, again, "{time}");
            assert_eq!(evaluator.state().snapshot(), before, "{time}");
            let fired = evaluator
                .evaluate(None, &e, RecordTime::default(), &mut counters)
                .map(|d| d.rule);
            assert_eq!(x.fires, fired, "{time}: {}", x.verdict);
        }
        // Exactly ten days after the last sighting is not new; ten days and a second is.
        assert_eq!(counters.detections_discovery, 2);
    }

    #[test]
    fn gaps_read_in_units_with_exact_seconds() {
        assert_eq!(format_gap(9), "9s");
        assert_eq!(format_gap(86_400 * 3 + 7205), "3d 2h 5s (266405 s)");
        assert_eq!(format_gap(0), "0s");
    }
}
