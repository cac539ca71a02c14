//! Which input shape a record has, and the events it holds (filter/README.md,
//! *Input shapes*).
//!
//! The record is validated whole with [`scan::validate`] first: anything that is not
//! one valid JSON object (invalid UTF-8, truncation, a bare array, a BOM) is
//! [`Malformed`], and the caller passes it through untouched and counts it.
//!
//! Recognition, from one walk over the top-level members, in this order:
//!
//! 1. **Raw** CloudTrail event: a top-level `eventName` or `eventSource` key.
//! 2. **Batch**: a top-level `Records` array; each object element is an event and
//!    keeps its position in the array (non-object elements are skipped but counted
//!    in the positions).
//! 3. **EventBridge**: `detail-type` is `AWS API Call via CloudTrail` and `detail`
//!    is an object, which is the event.
//! 4. **ECS**: an `event.action` key, dotted or nested (`"event":{"action":..}`).
//!    ECS comes before the wrapped shape because Elastic documents often keep the
//!    original line in `message`; the ECS fields are the ones Elastic evaluates.
//! 5. **Wrapped**: a `log` (then `message`) string whose decoded text is a JSON
//!    object of shape 1–4. Unwrapping happens once: text wrapped twice is not
//!    looked into.
//!
//! Duplicate keys: the first occurrence of a key wins, whatever its type (a later
//! duplicate is ignored), matching what most JSON consumers keep when they stream.
//! Keys are compared decoded ([`scan::RawStr::name`]), so `"event\u004eame"` is
//! `eventName`: JSON-equivalent spellings of a record get the same verdict.
//!
//! Account ids written as JSON numbers (`"accountId":111122223333`, as some
//! pipelines convert them) are read as their decimal text, left-padded with zeros to
//! AWS's twelve digits, so an account never becomes empty and an id that lost its
//! leading zero on the way is still the same account.
//!
//! Cost: one validation pass plus one walk; nested values that hold no wanted field
//! are skipped with a bracket counter. A `Records` array is walked element by
//! element with no per-element allocation beyond decoding escaped strings.

use crate::event::{Event, Outcome, Text};
use crate::scan::{self, Kind, ScanError, Value};
use std::fmt;

/// Which key held the wrapped JSON text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrapKey {
    Log,
    Message,
}

impl WrapKey {
    pub fn as_str(self) -> &'static str {
        match self {
            WrapKey::Log => "log",
            WrapKey::Message => "message",
        }
    }
}

/// The recognised input shape of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Raw,
    Batch,
    EventBridge,
    Wrapped(WrapKey),
    Ecs,
    /// A valid JSON object of none of the shapes: it holds no event.
    Unknown,
}

/// Why a record could not be read: it is passed through unchanged and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Not valid JSON (or not UTF-8) at the given place.
    Json(ScanError),
    /// Valid JSON, but the top level is not an object.
    NotAnObject,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Json(e) => write!(f, "record is not valid JSON: {e}"),
            Malformed::NotAnObject => f.write_str("record is valid JSON but not an object"),
        }
    }
}

impl std::error::Error for Malformed {}

impl From<ScanError> for Malformed {
    fn from(e: ScanError) -> Malformed {
        Malformed::Json(e)
    }
}

/// One event handed to the visitor.
#[derive(Clone, Copy, Debug)]
pub struct EventSlot<'s> {
    /// Position in `Records` for a batch; `None` for a single event.
    pub index: Option<usize>,
    pub event: &'s Event<'s>,
}

/// Validates `record`, recognises its shape and calls `visit` once per event.
pub fn visit_events(
    record: &[u8],
    visit: &mut dyn FnMut(EventSlot<'_>),
) -> Result<Shape, Malformed> {
    if scan::validate(record)? != Kind::Object {
        return Err(Malformed::NotAnObject);
    }
    let top = Value::parse_validated(record)?;
    let shape = visit_object(top, visit, true);
    Ok(shape)
}

/// The top-level keys that decide the shape (first occurrence of each).
#[derive(Default)]
struct TopLevel<'a> {
    raw: bool,
    records: Option<Value<'a>>,
    detail_type: Option<Value<'a>>,
    detail: Option<Value<'a>>,
    ecs: bool,
    log: Option<Value<'a>>,
    message: Option<Value<'a>>,
}

fn first<'a>(slot: &mut Option<Value<'a>>, value: Value<'a>) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// One walk over the top-level members: notes the shape keys and, at the same time,
/// collects the raw-event fields into `c` (used only if the record is a raw event),
/// so the common single-event record is walked once.
fn survey<'a>(object: Value<'a>, c: &mut Collector<'a>) -> TopLevel<'a> {
    let mut top = TopLevel::default();
    let Some(mut members) = object.members() else {
        return top;
    };
    while let Some(Ok(key)) = members.next_key() {
        if key.is("userIdentity") {
            if !walk_user_identity(c, &mut members) {
                break;
            }
            continue;
        }
        let Ok(value) = members.value() else {
            break;
        };
        let name = key.name();
        if let Some(field) = raw_field(&name) {
            top.raw |= matches!(field, Field::Action | Field::Provider);
            c.set(field, value);
            continue;
        }
        match &*name {
            b"Records" => first(&mut top.records, value),
            b"detail-type" => first(&mut top.detail_type, value),
            b"detail" => first(&mut top.detail, value),
            b"event.action" => top.ecs = true,
            b"event" => {
                if let Some(inner) = value.members() {
                    if inner.map_while(Result::ok).any(|(k, _)| k.is("action")) {
                        top.ecs = true;
                    }
                }
            }
            b"log" => first(&mut top.log, value),
            b"message" => first(&mut top.message, value),
            _ => {}
        }
    }
    top
}

/// Takes the `userIdentity` value at the cursor of `members`: walked in place (not
/// skipped first) when it is the first occurrence and an object, else skipped.
/// `false` if the walk cannot go on (text that was not validated).
fn walk_user_identity<'a>(c: &mut Collector<'a>, members: &mut scan::Members<'a>) -> bool {
    if c.claim(Field::UserIdentity) {
        if let Some(mut identity) = members.enter() {
            user_identity(c, &mut identity);
            return members.resume_after(&identity);
        }
    }
    members.value().is_ok()
}

/// The top-level string fields of a raw CloudTrail event.
fn raw_field(key: &[u8]) -> Option<Field> {
    Some(match key {
        b"eventName" => Field::Action,
        b"eventSource" => Field::Provider,
        b"eventTime" => Field::Time,
        b"sourceIPAddress" => Field::SourceIp,
        b"errorCode" => Field::ErrorCode,
        b"recipientAccountId" => Field::RecipientAccount,
        b"awsRegion" => Field::Region,
        b"userAgent" => Field::UserAgent,
        _ => return None,
    })
}

/// Classifies one object and visits its events; `unwrap` allows one level of
/// `log` / `message` unwrapping.
fn visit_object(object: Value<'_>, visit: &mut dyn FnMut(EventSlot<'_>), unwrap: bool) -> Shape {
    let mut collector = Collector::default();
    let top = survey(object, &mut collector);
    if top.raw {
        let event = collector.finish();
        visit(EventSlot {
            index: None,
            event: &event,
        });
        return Shape::Raw;
    }
    if let Some(records) = top.records.and_then(|v| v.elements()) {
        for (index, element) in records.map_while(Result::ok).enumerate() {
            if element.kind == Kind::Object {
                let event = raw_event(element);
                visit(EventSlot {
                    index: Some(index),
                    event: &event,
                });
            }
        }
        return Shape::Batch;
    }
    let is_api_call = top
        .detail_type
        .and_then(|v| v.as_raw_str())
        .is_some_and(|s| s.is("AWS API Call via CloudTrail"));
    if let (true, Some(detail)) = (is_api_call, top.detail) {
        if detail.kind == Kind::Object {
            let event = raw_event(detail);
            visit(EventSlot {
                index: None,
                event: &event,
            });
            return Shape::EventBridge;
        }
    }
    if top.ecs {
        let event = ecs_event(object);
        visit(EventSlot {
            index: None,
            event: &event,
        });
        return Shape::Ecs;
    }
    if unwrap {
        for (key, value) in [(WrapKey::Log, top.log), (WrapKey::Message, top.message)] {
            let Some(text) = value.and_then(|v| v.decode_str()) else {
                continue;
            };
            let inner = text.as_bytes();
            if !matches!(scan::validate(inner), Ok(Kind::Object)) {
                continue;
            }
            let Ok(inner_object) = Value::parse_validated(inner) else {
                continue;
            };
            if visit_object(inner_object, visit, false) != Shape::Unknown {
                return Shape::Wrapped(key);
            }
        }
    }
    Shape::Unknown
}

/// Fields of [`Event`], as bits for "first occurrence seen".
#[derive(Clone, Copy)]
enum Field {
    Action,
    Provider,
    Time,
    SourceIp,
    ErrorCode,
    Arn,
    IdentityType,
    AccessKeyId,
    UserName,
    RoleName,
    AccountId,
    Region,
    UserAgent,
    Outcome,
    RecipientAccount,
    IdentityUserName,
    UserIdentity,
    SessionContext,
    SessionIssuer,
}

/// Collects fields with first-occurrence-wins semantics.
#[derive(Default)]
struct Collector<'a> {
    seen: u32,
    event: Event<'a>,
    identity_user_name: Option<Text<'a>>,
    recipient_account: Option<Text<'a>>,
}

impl<'a> Collector<'a> {
    /// True the first time `field` is offered.
    fn claim(&mut self, field: Field) -> bool {
        let bit = 1u32 << (field as u32);
        let fresh = self.seen & bit == 0;
        self.seen |= bit;
        fresh
    }

    fn set(&mut self, field: Field, value: Value<'a>) {
        if !self.claim(field) {
            return;
        }
        if let Field::Outcome = field {
            let name = value.as_raw_str().map(|s| s.name());
            self.event.ecs_outcome = match name.as_deref() {
                Some(b"failure") => Some(Outcome::Failure),
                Some(b"success") => Some(Outcome::Success),
                _ => None,
            };
            return;
        }
        let text = match field {
            Field::AccountId | Field::RecipientAccount if value.kind == Kind::Number => {
                account_number(value.bytes)
            }
            _ => value.decode_str(),
        };
        let e = &mut self.event;
        let slot = match field {
            Field::Action => &mut e.action,
            Field::Provider => &mut e.provider,
            Field::Time => &mut e.time,
            Field::SourceIp => &mut e.source_ip,
            Field::ErrorCode => &mut e.error_code,
            Field::Arn => &mut e.arn,
            Field::IdentityType => &mut e.identity_type,
            Field::AccessKeyId => &mut e.access_key_id,
            Field::UserName => &mut e.user_name,
            Field::RoleName => &mut e.role_name,
            Field::AccountId => &mut e.account_id,
            Field::Region => &mut e.region,
            Field::UserAgent => &mut e.user_agent,
            Field::RecipientAccount => &mut self.recipient_account,
            Field::IdentityUserName => &mut self.identity_user_name,
            Field::Outcome | Field::UserIdentity | Field::SessionContext | Field::SessionIssuer => {
                return
            }
        };
        *slot = text;
    }

    /// Applies the fallbacks: user name ← `userName`, account ← recipient account.
    fn finish(mut self) -> Event<'a> {
        if self.event.user_name.is_none() {
            self.event.user_name = self.identity_user_name;
        }
        if self.event.account_id.is_none() {
            self.event.account_id = self.recipient_account;
        }
        self.event
    }
}

/// An account id written as a JSON number, as text: the integer's decimal digits,
/// left-padded with zeros to twelve (AWS account ids are twelve digits, and a
/// pipeline that made a number of one drops its leading zeros). A number with a
/// fraction or an exponent is read as a float and kept only if it is a whole number
/// below 2^53; anything else keeps its JSON text, so the id is never empty.
fn account_number(number: &[u8]) -> Option<Text<'_>> {
    let text = std::str::from_utf8(number).ok()?;
    let digits = if text.bytes().all(|b| b.is_ascii_digit()) {
        text.to_owned()
    } else {
        match text.parse::<f64>() {
            Ok(f)
                if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 9_007_199_254_740_992.0 =>
            {
                format!("{}", f as u64)
            }
            _ => return Some(Text::Borrowed(text)),
        }
    };
    Some(Text::Owned(format!("{digits:0>12}")))
}

/// A raw CloudTrail event's fields. The key paths are fixed, so the walk is a loop
/// over at most four levels (event → userIdentity → sessionContext → sessionIssuer).
pub fn raw_event(object: Value<'_>) -> Event<'_> {
    let mut c = Collector::default();
    let Some(mut members) = object.members() else {
        return c.finish();
    };
    while let Some(Ok(key)) = members.next_key() {
        if key.is("userIdentity") {
            if !walk_user_identity(&mut c, &mut members) {
                break;
            }
            continue;
        }
        let Ok(value) = members.value() else {
            break;
        };
        if let Some(field) = raw_field(&key.name()) {
            c.set(field, value);
        }
    }
    c.finish()
}

/// The fields of `userIdentity`, walked to its closing brace (so the caller can
/// resume after it); `sessionContext` and `sessionIssuer` are walked in place too.
fn user_identity<'a>(c: &mut Collector<'a>, identity: &mut scan::Members<'a>) {
    while let Some(Ok(key)) = identity.next_key() {
        let field = match &*key.name() {
            b"type" => Field::IdentityType,
            b"arn" => Field::Arn,
            b"accessKeyId" => Field::AccessKeyId,
            b"userName" => Field::IdentityUserName,
            b"accountId" => Field::AccountId,
            b"sessionContext" => {
                // Claimed whatever its type: a later duplicate never counts.
                let fresh = c.claim(Field::SessionContext);
                let walked = match identity.enter() {
                    Some(mut context) if fresh => {
                        session_context(c, &mut context);
                        identity.resume_after(&context)
                    }
                    _ => identity.value().is_ok(),
                };
                if !walked {
                    return;
                }
                continue;
            }
            _ => {
                if identity.value().is_err() {
                    return;
                }
                continue;
            }
        };
        let Ok(value) = identity.value() else {
            return;
        };
        c.set(field, value);
    }
}

/// `sessionContext`: only `sessionIssuer.userName` is wanted.
fn session_context<'a>(c: &mut Collector<'a>, context: &mut scan::Members<'a>) {
    while let Some(Ok(key)) = context.next_key() {
        if key.is("sessionIssuer") && c.claim(Field::SessionIssuer) {
            if let Some(mut issuer) = context.enter() {
                while let Some(Ok(key)) = issuer.next_key() {
                    let Ok(value) = issuer.value() else {
                        return;
                    };
                    // Elastic's user.name and the role name.
                    if key.is("userName") && c.claim(Field::RoleName) {
                        if let Some(name) = value.decode_str() {
                            c.event.role_name = Some(name.clone());
                            c.event.user_name = Some(name);
                        }
                    }
                }
                if !context.resume_after(&issuer) {
                    return;
                }
                continue;
            }
        }
        if context.value().is_err() {
            return;
        }
    }
}

/// ECS field paths. Each may be written dotted, nested or mixed
/// (`"aws.cloudtrail":{"user_identity":{"arn":..}}`).
const ECS_PATHS: &[(&str, Field)] = &[
    ("event.action", Field::Action),
    ("event.provider", Field::Provider),
    ("event.outcome", Field::Outcome),
    ("@timestamp", Field::Time),
    ("source.ip", Field::SourceIp),
    ("aws.cloudtrail.error_code", Field::ErrorCode),
    ("aws.cloudtrail.user_identity.arn", Field::Arn),
    ("aws.cloudtrail.user_identity.type", Field::IdentityType),
    (
        "aws.cloudtrail.user_identity.access_key_id",
        Field::AccessKeyId,
    ),
    (
        "aws.cloudtrail.user_identity.session_context.session_issuer.user_name",
        Field::RoleName,
    ),
    (
        "aws.cloudtrail.recipient_account_id",
        Field::RecipientAccount,
    ),
    ("user.name", Field::UserName),
    ("cloud.account.id", Field::AccountId),
    ("cloud.region", Field::Region),
    ("user_agent.original", Field::UserAgent),
];

/// An ECS document's fields. Nested objects along a wanted path go on an explicit
/// work list (bounded by the input's size), so depth never touches the call stack.
/// Within one object, its own keys are seen before the members of objects nested
/// in it; the first occurrence of each field wins.
pub fn ecs_event(object: Value<'_>) -> Event<'_> {
    let mut c = Collector::default();
    // (object, the dotted path prefix it stands for, e.g. "aws.cloudtrail.")
    let mut work: Vec<(Value<'_>, &'static str)> = vec![(object, "")];
    let mut nested: Vec<(Value<'_>, &'static str)> = Vec::new();
    while let Some((current, prefix)) = work.pop() {
        let Some(members) = current.members() else {
            continue;
        };
        for (key, value) in members.map_while(Result::ok) {
            let key = key.name();
            let mut pushed = false;
            for &(path, field) in ECS_PATHS {
                let Some(rest) = path.strip_prefix(prefix) else {
                    continue;
                };
                let rest = rest.as_bytes();
                let Some(tail) = rest.strip_prefix(&*key) else {
                    continue;
                };
                if tail.is_empty() {
                    c.set(field, value);
                } else if !pushed && tail.first() == Some(&b'.') && value.kind == Kind::Object {
                    let consumed = prefix.len() + key.len() + 1;
                    if let Some(longer) = path.get(..consumed) {
                        nested.push((value, longer));
                        pushed = true;
                    }
                }
            }
        }
        // Nested objects of this one go on top of the work list in reverse, so
        // they are popped in document order and before older work.
        while let Some(item) = nested.pop() {
            work.push(item);
        }
    }
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (index in `Records`, action) of each event.
    type Seen = Vec<(Option<usize>, Option<String>)>;

    /// The shape of a record and its events.
    fn events(record: &[u8]) -> Result<(Shape, Seen), Malformed> {
        let mut seen = Vec::new();
        let shape = visit_events(record, &mut |slot| {
            seen.push((slot.index, slot.event.action.as_deref().map(str::to_owned)));
        })?;
        Ok((shape, seen))
    }

    fn one(record: &[u8]) -> Event<'static> {
        let mut found = Vec::new();
        let _ = visit_events(record, &mut |slot| found.push(owned(slot.event)));
        assert_eq!(found.len(), 1, "{}", String::from_utf8_lossy(record));
        found.pop().unwrap_or_default()
    }

    fn owned(e: &Event<'_>) -> Event<'static> {
        let o = |t: &Option<Text<'_>>| t.as_deref().map(|s| Cow::Owned(s.to_owned()));
        Event {
            action: o(&e.action),
            provider: o(&e.provider),
            time: o(&e.time),
            source_ip: o(&e.source_ip),
            error_code: o(&e.error_code),
            arn: o(&e.arn),
            identity_type: o(&e.identity_type),
            access_key_id: o(&e.access_key_id),
            user_name: o(&e.user_name),
            role_name: o(&e.role_name),
            account_id: o(&e.account_id),
            region: o(&e.region),
            user_agent: o(&e.user_agent),
            ecs_outcome: e.ecs_outcome,
        }
    }

    use std::borrow::Cow;

    fn text(s: &str) -> Option<Text<'static>> {
        Some(Cow::Owned(s.to_owned()))
    }

    const ASSUMED: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:i-0abc1234def567890","arn":"arn:aws:sts::111122223333:assumed-role/web-role/i-0abc1234def567890","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/web-role","accountId":"111122223333","userName":"web-role"},"attributes":{"creationDate":"2026-06-01T11:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-06-01T12:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","errorCode":"Client.UnauthorizedOperation","requestParameters":{"instancesSet":{},"filterSet":{}},"responseElements":null,"recipientAccountId":"444455556666"}"#;

    #[test]
    fn raw_event_fields() {
        let e = one(ASSUMED.as_bytes());
        let expected = Event {
            action: text("DescribeInstances"),
            provider: text("ec2.amazonaws.com"),
            time: text("2026-06-01T12:00:00Z"),
            source_ip: text("198.51.100.7"),
            error_code: text("Client.UnauthorizedOperation"),
            arn: text("arn:aws:sts::111122223333:assumed-role/web-role/i-0abc1234def567890"),
            identity_type: text("AssumedRole"),
            access_key_id: text("ASIAEXAMPLE"),
            // Session issuer's userName: the role, as Elastic's user.name.
            user_name: text("web-role"),
            role_name: text("web-role"),
            // userIdentity.accountId wins over recipientAccountId.
            account_id: text("111122223333"),
            region: text("eu-west-1"),
            user_agent: text("aws-cli/2.15.0"),
            ecs_outcome: None,
        };
        assert_eq!(e, expected);
        assert_eq!(e.outcome(), Outcome::Failure);
    }

    #[test]
    fn iam_user_fallbacks() {
        let e = one(
            br#"{"eventName":"ListUsers","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","userName":"alice"},"recipientAccountId":"111122223333"}"#,
        );
        assert_eq!(e.user_name, text("alice"));
        assert_eq!(e.role_name, None);
        assert_eq!(e.account_id, text("111122223333"));
        assert_eq!(e.outcome(), Outcome::Success);
    }

    #[test]
    fn escaped_values_are_decoded() {
        let e = one(br#"{"eventName":"List\u0055sers","userAgent":"a \"quoted\" agent"}"#);
        assert_eq!(e.action, text("ListUsers"));
        assert_eq!(e.user_agent, text("a \"quoted\" agent"));
        // Undecodable (lone surrogate) or non-string values count as missing.
        let e = one(br#"{"eventName":"\ud800","eventSource":42}"#);
        assert_eq!((e.action, e.provider), (None, None));
    }

    #[test]
    fn duplicate_keys_first_wins() {
        let e = one(
            br#"{"eventName":"ListUsers","eventName":"GetObject","userIdentity":{"arn":"a1"},"userIdentity":{"arn":"a2"}}"#,
        );
        assert_eq!(e.action, text("ListUsers"));
        assert_eq!(e.arn, text("a1"));
        // First occurrence wins even when it is not a string.
        let e = one(
            br#"{"eventSource":"s3.amazonaws.com","eventName":null,"eventName":"ListBuckets"}"#,
        );
        assert_eq!(e.action, None);
    }

    #[test]
    fn nested_identity_objects_walked_in_place() {
        // A first sessionContext that is not an object still counts as the first.
        let e = one(
            br#"{"eventName":"ListUsers","userIdentity":{"sessionContext":5,"sessionContext":{"sessionIssuer":{"userName":"r"}},"arn":"a"},"awsRegion":"x"}"#,
        );
        assert_eq!((e.role_name, e.arn, e.region), (None, text("a"), text("x")));
        // Members after each nested object are still read, at every level.
        let e = one(
            br#"{"userIdentity":{"sessionContext":{"attributes":{"a":{}},"sessionIssuer":{"arn":"i","userName":"role"},"z":[]},"type":"AssumedRole"},"eventName":"ListUsers","Records":[]}"#,
        );
        assert_eq!(
            (e.role_name, e.identity_type, e.action),
            (text("role"), text("AssumedRole"), text("ListUsers"))
        );
        // In a batch element too.
        let record = br#"{"Records":[{"userIdentity":{"arn":"a1","sessionContext":{}},"eventName":"ListKeys"},{"eventName":"ListUsers"}]}"#;
        let mut arns = Vec::new();
        let _ = visit_events(record, &mut |slot| {
            arns.push((slot.event.arn.as_deref().map(str::to_owned), slot.index))
        });
        assert_eq!(arns, [(Some("a1".to_owned()), Some(0)), (None, Some(1))]);
    }

    #[test]
    fn batch_shape() {
        let record =
            br#"{"Records":[{"eventName":"ListUsers"},7,{"eventName":"GetObject"},null,{}]}"#;
        assert_eq!(
            events(record),
            Ok((
                Shape::Batch,
                vec![
                    (Some(0), Some("ListUsers".to_owned())),
                    (Some(2), Some("GetObject".to_owned())),
                    (Some(4), None),
                ]
            ))
        );
        assert_eq!(events(br#"{"Records":[]}"#), Ok((Shape::Batch, vec![])));
        // Not an array: not a batch.
        assert_eq!(events(br#"{"Records":{}}"#), Ok((Shape::Unknown, vec![])));
    }

    #[test]
    fn batch_of_100k_is_linear() {
        let mut record = b"{\"Records\":[".to_vec();
        for i in 0..100_000 {
            if i > 0 {
                record.push(b',');
            }
            record.extend_from_slice(br#"{"eventName":"ListKeys","userIdentity":{"arn":"x"}}"#);
        }
        record.extend_from_slice(b"]}");
        let mut count = 0usize;
        let mut last = None;
        let shape = visit_events(&record, &mut |slot| {
            count += 1;
            last = slot.index;
        });
        assert_eq!(shape, Ok(Shape::Batch));
        assert_eq!((count, last), (100_000, Some(99_999)));
    }

    #[test]
    fn eventbridge_shape() {
        let record = br#"{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{"eventName":"ListRoles","eventSource":"iam.amazonaws.com"}}"#;
        assert_eq!(
            events(record),
            Ok((
                Shape::EventBridge,
                vec![(None, Some("ListRoles".to_owned()))]
            ))
        );
        let other = br#"{"detail-type":"AWS Console Sign In via CloudTrail","detail":{"eventName":"ConsoleLogin"}}"#;
        assert_eq!(events(other), Ok((Shape::Unknown, vec![])));
    }

    #[test]
    fn wrapped_shapes() {
        // Escaped JSON text with whitespace (escaped newlines, spaces) inside.
        let record = br#"{"log":"{\n  \"eventName\" : \"ListBuckets\",\r\n \"eventSource\":\"s3.amazonaws.com\"}\n","stream":"stdout"}"#;
        assert_eq!(
            events(record),
            Ok((
                Shape::Wrapped(WrapKey::Log),
                vec![(None, Some("ListBuckets".to_owned()))]
            ))
        );
        let batch = br#"{"message":"{\"Records\":[{\"eventName\":\"ListKeys\"}]}"}"#;
        assert_eq!(
            events(batch),
            Ok((
                Shape::Wrapped(WrapKey::Message),
                vec![(Some(0), Some("ListKeys".to_owned()))]
            ))
        );
        let eb = br#"{"log":"{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"eventName\":\"ListTables\"}}"}"#;
        assert_eq!(
            events(eb),
            Ok((
                Shape::Wrapped(WrapKey::Log),
                vec![(None, Some("ListTables".to_owned()))]
            ))
        );
        let ecs = br#"{"log":"{\"event\":{\"action\":\"ListAliases\"}}"}"#;
        assert_eq!(
            events(ecs),
            Ok((
                Shape::Wrapped(WrapKey::Log),
                vec![(None, Some("ListAliases".to_owned()))]
            ))
        );
        // `log` not JSON, `message` is: message is used.
        let both = br#"{"log":"plain text","message":"{\"eventName\":\"ListGroups\"}"}"#;
        assert_eq!(
            events(both),
            Ok((
                Shape::Wrapped(WrapKey::Message),
                vec![(None, Some("ListGroups".to_owned()))]
            ))
        );
        // Only one level is unwrapped.
        let twice = br#"{"log":"{\"log\":\"{\\\"eventName\\\":\\\"ListUsers\\\"}\"}"}"#;
        assert_eq!(events(twice), Ok((Shape::Unknown, vec![])));
        // Inner text that is invalid JSON, an array, or a JSON string: not an event.
        for record in [
            &br#"{"log":"{\"eventName\":"}"#[..],
            br#"{"log":"[{\"eventName\":\"ListUsers\"}]"}"#,
            br#"{"log":"\"x\""}"#,
            br#"{"log":{"eventName":"ListUsers"}}"#,
        ] {
            assert_eq!(
                events(record),
                Ok((Shape::Unknown, vec![])),
                "{}",
                String::from_utf8_lossy(record)
            );
        }
    }

    const ECS_NESTED: &str = r#"{"@timestamp":"2026-06-01T12:00:00.000Z","event":{"action":"GetCallerIdentity","provider":"sts.amazonaws.com","outcome":"failure"},"source":{"ip":"203.0.113.9"},"user":{"name":"deploy"},"cloud":{"account":{"id":"111122223333"},"region":"us-east-1"},"user_agent":{"original":"Boto3/1.34"},"aws":{"cloudtrail":{"user_identity":{"arn":"arn:aws:iam::111122223333:user/deploy","type":"IAMUser","access_key_id":"AKIAEXAMPLE"}}},"message":"{\"eventName\":\"Ignored\"}"}"#;

    const ECS_DOTTED: &str = r#"{"@timestamp":"2026-06-01T12:00:00.000Z","event.action":"GetCallerIdentity","event.provider":"sts.amazonaws.com","event.outcome":"failure","source.ip":"203.0.113.9","user.name":"deploy","cloud.account.id":"111122223333","cloud.region":"us-east-1","user_agent.original":"Boto3/1.34","aws.cloudtrail":{"user_identity.arn":"arn:aws:iam::111122223333:user/deploy","user_identity":{"type":"IAMUser"},"user_identity.access_key_id":"AKIAEXAMPLE"}}"#;

    #[test]
    fn ecs_nested_and_dotted_agree() {
        let expected = Event {
            action: text("GetCallerIdentity"),
            provider: text("sts.amazonaws.com"),
            time: text("2026-06-01T12:00:00.000Z"),
            source_ip: text("203.0.113.9"),
            error_code: None,
            arn: text("arn:aws:iam::111122223333:user/deploy"),
            identity_type: text("IAMUser"),
            access_key_id: text("AKIAEXAMPLE"),
            user_name: text("deploy"),
            role_name: None,
            account_id: text("111122223333"),
            region: text("us-east-1"),
            user_agent: text("Boto3/1.34"),
            ecs_outcome: Some(Outcome::Failure),
        };
        for record in [ECS_NESTED, ECS_DOTTED] {
            assert_eq!(events(record.as_bytes()).map(|(s, _)| s), Ok(Shape::Ecs));
            let e = one(record.as_bytes());
            assert_eq!(e, expected, "{record}");
            assert_eq!(e.outcome(), Outcome::Failure);
        }
    }

    #[test]
    fn ecs_first_occurrence_wins() {
        // The dotted key at top level comes first in document order here.
        let e = one(
            br#"{"event.action":"ListKeys","event":{"action":"ListUsers","outcome":"success"}}"#,
        );
        assert_eq!(e.action, text("ListKeys"));
        assert_eq!(e.ecs_outcome, Some(Outcome::Success));
    }

    #[test]
    fn unknown_and_malformed() {
        assert_eq!(
            events(br#"{"hello":"world"}"#),
            Ok((Shape::Unknown, vec![]))
        );
        assert_eq!(events(b"[]").map(|(s, _)| s), Err(Malformed::NotAnObject));
        assert_eq!(
            events(b"\"x\"").map(|(s, _)| s),
            Err(Malformed::NotAnObject)
        );
        for bad in [
            &br#"{"eventName":"ListUsers""#[..],
            b"{\"eventName\":\"List\xffUsers\"}",
            b"{\"eventName\":\"List\0Users\"}",
            b"\xef\xbb\xbf{\"eventName\":\"ListUsers\"}",
            b"",
            b"{\"n\":1}{}",
        ] {
            assert!(
                matches!(events(bad), Err(Malformed::Json(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // CRLF line endings and huge numbers are valid JSON.
        let ok = b"{\r\n\"eventName\":\"ListUsers\",\r\n\"n\":123456789012345678901234567890e99999\r\n}\r\n";
        assert_eq!(
            events(ok),
            Ok((Shape::Raw, vec![(None, Some("ListUsers".to_owned()))]))
        );
    }

    #[test]
    fn deep_nesting_in_a_small_stack() {
        let run = || {
            let depth = 100_000;
            let mut record = b"{\"eventName\":\"ListUsers\",\"x\":".to_vec();
            record.extend(std::iter::repeat_n(b'[', depth));
            record.extend(std::iter::repeat_n(b']', depth));
            record.extend_from_slice(b",\"event\":");
            record.extend(std::iter::repeat_n(b"{\"a\":".as_slice(), depth).flatten());
            record.extend_from_slice(b"1");
            record.extend(std::iter::repeat_n(b'}', depth));
            record.push(b'}');
            let mut actions = Vec::new();
            let shape = visit_events(&record, &mut |slot| {
                actions.push(slot.event.action.as_deref().map(str::to_owned))
            });
            (shape, actions)
        };
        let joined = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(run)
            .map(|h| h.join());
        let Ok(Ok((shape, actions))) = joined else {
            unreachable!("visit thread failed (stack overflow?)");
        };
        assert_eq!(shape, Ok(Shape::Raw));
        assert_eq!(actions, [Some("ListUsers".to_owned())]);
    }
}
