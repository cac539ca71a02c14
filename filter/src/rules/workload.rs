//! Rule B: workload credentials (EC2 instance roles, Lambda, ECS, EKS and service
//! roles) calling a discovery action from a VPN ASN. Those credentials should never
//! leave AWS, so every candidate alerts, deduplicated per principal, ASN and action
//! within one UTC clock hour.

use super::spare::Spare;
use super::{Detection, Rule, Screened};
use crate::config::Config;
use crate::event::{session_name, Event};
use crate::state::State;

const SECONDS_PER_HOUR: i64 = 3600;

/// An assumed-role session named after an EC2 instance, or an assumed role whose
/// name matches the configured workload-role patterns.
pub fn is_workload(event: &Event<'_>, config: &Config) -> bool {
    let Some(arn) = event.arn.as_deref() else {
        return false;
    };
    let assumed = event.identity_type.as_deref() == Some("AssumedRole")
        || crate::event::assumed_role_path(arn).is_some();
    if !assumed {
        return false;
    }
    if session_name(arn).is_some_and(is_instance_id) {
        return true;
    }
    let role = event
        .role_name
        .as_deref()
        .filter(|name| !name.is_empty())
        .or_else(|| role_from_arn(arn));
    role.is_some_and(|name| config.is_workload_role(name))
}

/// `i-` followed by 8 (older) or 17 hex digits.
pub fn is_instance_id(session: &str) -> bool {
    let Some(digits) = session.strip_prefix("i-") else {
        return false;
    };
    matches!(digits.len(), 8 | 17) && digits.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` → `ROLE`.
fn role_from_arn(arn: &str) -> Option<&str> {
    let path = crate::event::assumed_role_path(arn)?;
    path.split('/').next().filter(|role| !role.is_empty())
}

/// The state key of (principal ARN, ASN, normalised action).
pub fn state_key(state: &State, arn: &str, asn: u32, action: &str) -> u64 {
    state
        .hasher()
        .key(&key_parts(arn, &asn.to_le_bytes(), action))
}

/// What [`state_key`] hashes.
fn key_parts<'a>(arn: &'a str, asn: &'a [u8; 4], action: &'a str) -> [&'a [u8]; 4] {
    [b"workload", arn.as_bytes(), asn, action.as_bytes()]
}

/// The UTC clock hour (hours since 1970) rule B deduplicates within.
pub fn hour_of(time: i64) -> i64 {
    time.div_euclid(SECONDS_PER_HOUR)
}

pub fn evaluate(
    index: Option<usize>,
    event: &Event<'_>,
    candidate: &Screened<'_>,
    state: &mut State,
    spare: &mut Spare,
) -> Option<Detection> {
    let key = state.key(&key_parts(
        candidate.arn,
        &candidate.asn.to_le_bytes(),
        candidate.action,
    ));
    let hour = hour_of(candidate.time);
    if !state.observe_workload(key, hour) {
        return None;
    }
    // `ARN/AS<asn>/action`, pushed rather than formatted (see rule A).
    let mut identity_key = spare.text(candidate.arn);
    identity_key.push_str("/AS");
    crate::time::push_int(&mut identity_key, i64::from(candidate.asn));
    identity_key.push('/');
    identity_key.push_str(candidate.action);
    Some(Detection {
        index,
        rule: Rule::Workload,
        identity_key,
        identity_type: spare.optional(event.identity_type.as_deref()),
        user_name: spare.optional(super::discovery::user_name(event)),
        account_id: spare.optional(event.account_id.as_deref()),
        access_key_id: spare.optional(event.access_key_id.as_deref()),
        region: spare.optional(event.region.as_deref()),
        reason: spare.text(
            "workload credentials used from a VPN ASN (first time this UTC hour for this principal, ASN and action)",
        ),
        previous_seen: None,
        candidate: candidate.to_candidate_in(spare),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_have_8_or_17_hex_digits() {
        assert!(is_instance_id("i-0a1b2c3d"));
        assert!(is_instance_id("i-0123456789abcdef0"));
        assert!(!is_instance_id("i-0123456789abcdef"));
        assert!(!is_instance_id("i-0a1b2c3g"));
        assert!(!is_instance_id("i-"));
        assert!(!is_instance_id("alice"));
        assert!(!is_instance_id("x-0a1b2c3d"));
    }

    #[test]
    fn role_name_comes_from_assumed_role_arns_only() {
        assert_eq!(
            role_from_arn("arn:aws:sts::111122223333:assumed-role/app-lambda-role/fn"),
            Some("app-lambda-role")
        );
        assert_eq!(role_from_arn("arn:aws:iam::111122223333:user/alice"), None);
    }
}
