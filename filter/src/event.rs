//! The fields of one CloudTrail event that the rules read.
//!
//! Field meanings follow Elastic's CloudTrail pipeline: raw CloudTrail names and
//! their ECS equivalents fill the same [`Event`] fields. Values are the decoded
//! JSON strings, borrowed from the record whenever they hold no escapes.

use std::borrow::Cow;

pub use crate::time::parse_event_time;

/// A decoded JSON string, borrowed from the record when it has no escapes.
pub type Text<'a> = Cow<'a, str>;

/// Whether the call succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One event's fields. Every field is `None` when absent, not a string, or not
/// decodable (a lone `\u` surrogate, say): the rules then treat it as missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event<'a> {
    /// `eventName` / `event.action`, as logged (Lambda suffix not yet removed).
    pub action: Option<Text<'a>>,
    /// `eventSource` / `event.provider`, e.g. `iam.amazonaws.com`.
    pub provider: Option<Text<'a>>,
    /// `eventTime` / `@timestamp`, unparsed; see [`parse_event_time`].
    pub time: Option<Text<'a>>,
    /// `sourceIPAddress` / `source.ip`: an address or a service name.
    pub source_ip: Option<Text<'a>>,
    /// `errorCode` / `aws.cloudtrail.error_code`.
    pub error_code: Option<Text<'a>>,
    /// `userIdentity.arn` / `aws.cloudtrail.user_identity.arn`.
    pub arn: Option<Text<'a>>,
    /// `userIdentity.type` / `aws.cloudtrail.user_identity.type`.
    pub identity_type: Option<Text<'a>>,
    /// `userIdentity.accessKeyId` / `aws.cloudtrail.user_identity.access_key_id`.
    pub access_key_id: Option<Text<'a>>,
    /// Elastic's `user.name`: the session issuer's user name, else `userName`.
    pub user_name: Option<Text<'a>>,
    /// The session issuer's user name only (the role of an assumed-role session).
    pub role_name: Option<Text<'a>>,
    /// `userIdentity.accountId`, else `recipientAccountId` / `cloud.account.id`.
    pub account_id: Option<Text<'a>>,
    /// `awsRegion` / `cloud.region`.
    pub region: Option<Text<'a>>,
    /// `userAgent` / `user_agent.original`.
    pub user_agent: Option<Text<'a>>,
    /// ECS `event.outcome` when it says `success` or `failure`; raw CloudTrail
    /// events have none (their outcome comes from `errorCode`).
    pub ecs_outcome: Option<Outcome>,
}

impl Event<'_> {
    /// ECS `event.outcome` when given, else `errorCode` present → failure.
    pub fn outcome(&self) -> Outcome {
        match self.ecs_outcome {
            Some(outcome) => outcome,
            None if self.error_code.is_some() => Outcome::Failure,
            None => Outcome::Success,
        }
    }
}

/// What follows the first `:assumed-role/` of an ARN (`ROLE/SESSION`), if any.
pub fn assumed_role_path(arn: &str) -> Option<&str> {
    const MARK: &str = ":assumed-role/";
    let at = crate::scan::find(arn.as_bytes(), MARK.as_bytes())?;
    arn.get(at + MARK.len()..)
}

/// The session name of an assumed-role ARN
/// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` → `SESSION`); `None` for any
/// other ARN or an empty session.
pub fn session_name(arn: &str) -> Option<&str> {
    let path = assumed_role_path(arn)?;
    let (role, session) = path.split_once('/')?;
    if role.is_empty() || session.is_empty() {
        return None;
    }
    // A session name has no `/`; keep the last element if a path sneaks in.
    session.rsplit('/').next().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names() {
        assert_eq!(
            session_name("arn:aws:sts::123456789012:assumed-role/web-role/i-0abc1234def567890"),
            Some("i-0abc1234def567890")
        );
        assert_eq!(
            session_name("arn:aws-us-gov:sts::123456789012:assumed-role/R/alice@example.com"),
            Some("alice@example.com")
        );
        assert_eq!(session_name("arn:aws:iam::123456789012:user/alice"), None);
        assert_eq!(
            session_name("arn:aws:sts::123456789012:assumed-role/R"),
            None
        );
        assert_eq!(
            session_name("arn:aws:sts::123456789012:assumed-role/R/"),
            None
        );
        assert_eq!(
            session_name("arn:aws:sts::123456789012:assumed-role//s"),
            None
        );
        assert_eq!(session_name(""), None);
    }

    #[test]
    fn outcome_rules() {
        let mut event = Event::default();
        assert_eq!(event.outcome(), Outcome::Success);
        event.error_code = Some(Cow::Borrowed("AccessDenied"));
        assert_eq!(event.outcome(), Outcome::Failure);
        event.error_code = None;
        event.ecs_outcome = Some(Outcome::Failure);
        assert_eq!(event.outcome(), Outcome::Failure);
    }
}
