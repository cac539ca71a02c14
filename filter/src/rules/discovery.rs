//! Rule A: a discovery call from a VPN ASN by an identity that has not called a
//! discovery action from that ASN in the window (Elastic's `new_terms` on
//! `source.as.number`, `user.name`, `cloud.account.id`).

use super::spare::Spare;
use super::{Detection, Rule, Screened};
use crate::config::{Config, IdentityKey};
use crate::event::Event;
use crate::state::{FirstSeen, State};
use crate::time::push_duration;

/// The identity the rule tracks, per `identity_key`. `user` follows Elastic's
/// `user.name` and falls back to the principal ARN where Elastic leaves it empty
/// (root, some federated and cross-account identities); `access_key` falls back to
/// the ARN for events without a key id, so no candidate goes untracked.
pub fn identity<'e>(event: &'e Event<'_>, config: &Config) -> Option<&'e str> {
    let arn = non_empty(event.arn.as_deref());
    match config.identity_key {
        IdentityKey::User => user_name(event),
        IdentityKey::Arn => arn,
        IdentityKey::AccessKey => non_empty(event.access_key_id.as_deref()).or(arn),
    }
}

/// The user name as the key uses it: Elastic's `user.name`, else the principal ARN
/// (root, federated and cross-account identities have no user name). This is what
/// a detection reports as `identity.user_name`, whatever `identity_key` says.
pub fn user_name<'e>(event: &'e Event<'_>) -> Option<&'e str> {
    non_empty(event.user_name.as_deref()).or_else(|| non_empty(event.arn.as_deref()))
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.filter(|s| !s.is_empty())
}

/// The state key of (account, identity, ASN).
pub fn state_key(state: &State, account: &str, identity: &str, asn: u32) -> u64 {
    state
        .hasher()
        .key(&key_parts(account, identity, &asn.to_le_bytes()))
}

/// What [`state_key`] hashes.
fn key_parts<'a>(account: &'a str, identity: &'a str, asn: &'a [u8; 4]) -> [&'a [u8]; 4] {
    [b"discovery", account.as_bytes(), identity.as_bytes(), asn]
}

pub fn evaluate(
    index: Option<usize>,
    event: &Event<'_>,
    candidate: &Screened<'_>,
    config: &Config,
    state: &mut State,
    spare: &mut Spare,
) -> Option<Detection> {
    let identity = identity(event, config)?;
    let account = event.account_id.as_deref().unwrap_or_default();
    let key = state.key(&key_parts(account, identity, &candidate.asn.to_le_bytes()));
    let previous_seen = match state.observe_identity(key, candidate.time) {
        FirstSeen::New { previous } => previous,
        FirstSeen::Recent { .. } => return None,
    };
    // Built by pushing rather than `format!`: the formatting machinery costs
    // thousands of wasm instructions per alert.
    let mut reason = spare.text("first seen for this key in ");
    push_duration(&mut reason, config.window_secs);
    if let Some(at) = previous_seen {
        reason.push_str(" (previously seen ");
        crate::time::push_time(&mut reason, at);
        reason.push(')');
    }
    let mut identity_key = spare.text(account);
    identity_key.push('/');
    identity_key.push_str(identity);
    identity_key.push_str("/AS");
    crate::time::push_int(&mut identity_key, i64::from(candidate.asn));
    Some(Detection {
        index,
        rule: Rule::DiscoveryNewIdentity,
        identity_key,
        identity_type: spare.optional(event.identity_type.as_deref()),
        user_name: spare.optional(user_name(event)),
        account_id: spare.optional(event.account_id.as_deref()),
        access_key_id: spare.optional(event.access_key_id.as_deref()),
        region: spare.optional(event.region.as_deref()),
        candidate: candidate.to_candidate_in(spare),
        reason,
        previous_seen,
    })
}
