//! The reader this module had before the one-pass reader: validate the whole
//! record with `scan::validate`, then walk the validated text with
//! `scan::Members`. Kept for the tests only, as the oracle the one-pass reader must
//! agree with on every input (same shape, same events, same error).

use super::{ecs_event, Collector, EventSlot, Field, Malformed, Shape, WrapKey};
use crate::event::Event;
use crate::scan::{self, Kind, Value};

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
