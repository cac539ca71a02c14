//! Which input shape a record has, and the events it holds (contract section 1).
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
//! Keys are compared by their raw bytes (see [`scan::RawStr::is`]).
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

fn survey(object: Value<'_>) -> TopLevel<'_> {
    let mut top = TopLevel::default();
    let Some(members) = object.members() else {
        return top;
    };
    for (key, value) in members.map_while(Result::ok) {
        match key.raw {
            b"eventName" | b"eventSource" => top.raw = true,
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

/// Classifies one object and visits its events; `unwrap` allows one level of
/// `log` / `message` unwrapping.
fn visit_object(object: Value<'_>, visit: &mut dyn FnMut(EventSlot<'_>), unwrap: bool) -> Shape {
    let top = survey(object);
    if top.raw {
        let event = raw_event(object);
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
            self.event.ecs_outcome = match value.as_raw_str().map(|s| s.raw) {
                Some(b"failure") => Some(Outcome::Failure),
                Some(b"success") => Some(Outcome::Success),
                _ => None,
            };
            return;
        }
        let text = value.decode_str();
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

/// The members of `value` if it is an object and `field` is its first occurrence.
fn claim_object<'a>(
    c: &mut Collector<'a>,
    field: Field,
    value: Value<'a>,
) -> Option<scan::Members<'a>> {
    if c.claim(field) {
        value.members()
    } else {
        None
    }
}

/// A raw CloudTrail event's fields. The key paths are fixed, so the walk is a loop
/// over at most four levels (event → userIdentity → sessionContext → sessionIssuer).
pub fn raw_event(object: Value<'_>) -> Event<'_> {
    let mut c = Collector::default();
    let Some(members) = object.members() else {
        return c.finish();
    };
    for (key, value) in members.map_while(Result::ok) {
        let field = match key.raw {
            b"eventName" => Field::Action,
            b"eventSource" => Field::Provider,
            b"eventTime" => Field::Time,
            b"sourceIPAddress" => Field::SourceIp,
            b"errorCode" => Field::ErrorCode,
            b"recipientAccountId" => Field::RecipientAccount,
            b"awsRegion" => Field::Region,
            b"userAgent" => Field::UserAgent,
            b"userIdentity" => {
                if let Some(identity) = claim_object(&mut c, Field::UserIdentity, value) {
                    user_identity(&mut c, identity);
                }
                continue;
            }
            _ => continue,
        };
        c.set(field, value);
    }
    c.finish()
}

fn user_identity<'a>(c: &mut Collector<'a>, identity: scan::Members<'a>) {
    for (key, value) in identity.map_while(Result::ok) {
        let field = match key.raw {
            b"type" => Field::IdentityType,
            b"arn" => Field::Arn,
            b"accessKeyId" => Field::AccessKeyId,
            b"userName" => Field::IdentityUserName,
            b"accountId" => Field::AccountId,
            b"sessionContext" => {
                let Some(context) = claim_object(c, Field::SessionContext, value) else {
                    continue;
                };
                for (key, value) in context.map_while(Result::ok) {
                    if !key.is("sessionIssuer") {
                        continue;
                    }
                    let Some(issuer) = claim_object(c, Field::SessionIssuer, value) else {
                        continue;
                    };
                    for (key, value) in issuer.map_while(Result::ok) {
                        // Elastic's user.name and the role name.
                        if key.is("userName") && c.claim(Field::RoleName) {
                            if let Some(name) = value.decode_str() {
                                c.event.role_name = Some(name.clone());
                                c.event.user_name = Some(name);
                            }
                        }
                    }
                }
                continue;
            }
            _ => continue,
        };
        c.set(field, value);
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
            let mut pushed = false;
            for &(path, field) in ECS_PATHS {
                let Some(rest) = path.strip_prefix(prefix) else {
                    continue;
                };
                let rest = rest.as_bytes();
                let Some(tail) = rest.strip_prefix(key.raw) else {
                    continue;
                };
                if tail.is_empty() {
                    c.set(field, value);
                } else if !pushed && tail.first() == Some(&b'.') && value.kind == Kind::Object {
                    let consumed = prefix.len() + key.raw.len() + 1;
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
