//! Which input shape a record has, and the events it holds (filter/README.md,
//! *Input shapes*).
//!
//! **One pass.** The record is read once, by a walk that validates every byte it
//! steps over exactly as [`scan::validate`] does ([`scan::ObjectReader`],
//! [`scan::checked_value`]) and, on the way, picks out the members it needs: the
//! fields of a raw event (the `userIdentity` object is read in place, down to
//! `sessionContext.sessionIssuer`), the keys that decide the shape, and where the
//! top-level `detection` and `source_as` values lie (for the output's splice). No
//! tree is built: values nobody reads are validated and stepped over with a depth
//! stack of one bit per level, so nesting costs memory proportional to the input,
//! never call stack. Anything that is not one valid JSON object (invalid UTF-8,
//! truncation, a bare array, a BOM) is [`Malformed`] — with the error
//! [`scan::validate`] reports — and the caller passes it through untouched and
//! counts it; no event is handed out before the whole record is known to be valid.
//!
//! Recognition, from that walk over the top-level members, in this order:
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
//! Keys are compared decoded ([`scan::Key::name`]), so `"event\u004eame"` is
//! `eventName`: JSON-equivalent spellings of a record get the same verdict.
//!
//! Account ids written as JSON numbers (`"accountId":111122223333`, as some
//! pipelines convert them) are read as their decimal text, left-padded with zeros to
//! AWS's twelve digits, so an account never becomes empty and an id that lost its
//! leading zero on the way is still the same account.
//!
//! Cost: a raw event is read in the one pass, its CloudTrail keys recognised from
//! their bytes before the general key read (`spelled_top_key` and the identity's
//! tables), so it costs little more than validating it. The other shapes read their events
//! from the validated text afterwards: a `Records` array or an EventBridge `detail`
//! once more with the same reader, an ECS document with [`scan::Members`], a
//! wrapped line by decoding it and reading the decoded text in one pass.

use crate::event::{Event, Outcome, Text};
use crate::scan::{self, Invalid, Kind, ObjectReader, ScanError, Value};
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

/// Where the values of the record's top-level `detection` and `source_as` members
/// lie (byte ranges, every occurrence in order, keys compared decoded): what the
/// output replaces instead of adding a member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopMembers {
    pub detection: Vec<(usize, usize)>,
    pub source_as: Vec<(usize, usize)>,
}

/// What reading a record found: its shape and its top-level members of interest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    pub shape: Shape,
    pub members: TopMembers,
}

/// Validates `record`, recognises its shape and calls `visit` once per event.
pub fn visit_events(
    record: &[u8],
    visit: &mut dyn FnMut(EventSlot<'_>),
) -> Result<Shape, Malformed> {
    read_events(record, visit).map(|read| read.shape)
}

/// [`visit_events`], also returning where the top-level `detection` and
/// `source_as` values are. No event is visited unless the whole record is valid.
pub fn read_events(record: &[u8], visit: &mut dyn FnMut(EventSlot<'_>)) -> Result<Read, Malformed> {
    read_events_with(record, None, visit)
}

/// [`read_events`] with a memory of recently read `userIdentity` objects, kept
/// from record to record (see [`IdentityMemo`]).
pub fn read_events_with(
    record: &[u8],
    memo: Option<&mut IdentityMemo>,
    visit: &mut dyn FnMut(EventSlot<'_>),
) -> Result<Read, Malformed> {
    let mut members = TopMembers::default();
    // Filled in place: the walk's findings are large, and moving them costs fuel.
    let mut found = Found::default();
    let top = Top {
        members: Some(&mut members),
        memo,
    };
    if read_document(record, top, &mut found).is_err() {
        return Err(malformed(record));
    }
    let shape = visit_found(&mut found, visit, true);
    Ok(Read { shape, members })
}

/// What only the record's own top level gets: the `detection` / `source_as` spans
/// and the identity memory.
#[derive(Default)]
struct Top<'m> {
    members: Option<&'m mut TopMembers>,
    memo: Option<&'m mut IdentityMemo>,
}

/// Slots of the [`IdentityMemo`], chosen by a hash of the object's first bytes.
const IDENTITY_SLOTS: usize = 16;
/// Longer `userIdentity` objects are not remembered (bounds the memo at 64 KiB of
/// copies).
const IDENTITY_MAX: usize = 4096;

/// The `userIdentity` fields a read of the object sets (besides claims).
const IDENTITY_FIELDS: [Field; 7] = [
    Field::IdentityType,
    Field::Arn,
    Field::AccessKeyId,
    Field::IdentityUserName,
    Field::AccountId,
    Field::RoleName,
    Field::UserName,
];

/// Recently read `userIdentity` objects, byte for byte, with what reading them gave.
///
/// One identity makes many calls in a row with byte-identical `userIdentity`
/// objects, and the object is a third of a CloudTrail record. Where a record's bytes
/// at the object's start equal a remembered object, reading them again would give
/// the same result: the reader reads an object forward from its `{` and stops at its
/// `}`, so its verdict (valid or not) and the fields it finds depend on those bytes
/// alone. The remembered object was valid (only valid reads are kept), so these
/// bytes are too; its fields are replayed from the remembered offsets (borrowed from
/// this record) or decoded texts, and the walk resumes after it. Comparing the bytes
/// a word at a time ([`scan::starts_with`]) costs a fraction of validating them. An object is copied in on
/// its second sighting (its slot remembers the hash of the last miss).
pub struct IdentityMemo {
    slots: Vec<IdentitySlot>,
    /// How many objects were replayed from memory (for the tests).
    #[cfg(test)]
    replays: usize,
}

#[derive(Default)]
struct IdentitySlot {
    /// The hash of the last object that missed this slot: an object is copied in on
    /// its second sighting, so identities seen once cost no copy.
    last_miss: u64,
    /// The object's bytes; empty while unused.
    bytes: Vec<u8>,
    /// The claims reading it made.
    claims: u32,
    /// What reading it set, per [`IDENTITY_FIELDS`].
    fields: [Remembered; 7],
}

/// A field's value as read from a remembered object.
#[derive(Clone, Default)]
enum Remembered {
    #[default]
    None,
    /// Borrowed from the object: its bytes at this range (relative to the `{`),
    /// already checked to be UTF-8 without escapes.
    At(usize, usize),
    /// Decoded from escapes, or an account number made text.
    Owned(String),
}

impl Default for IdentityMemo {
    fn default() -> IdentityMemo {
        IdentityMemo {
            slots: (0..IDENTITY_SLOTS)
                .map(|_| IdentitySlot::default())
                .collect(),
            #[cfg(test)]
            replays: 0,
        }
    }
}

impl IdentityMemo {
    /// Reads the `userIdentity` object at `open` into `c` as [`user_identity`]
    /// does, from memory when its bytes were read before; returns its end.
    fn read<'a>(
        &mut self,
        c: &mut Collector<'a>,
        doc: &'a [u8],
        open: usize,
    ) -> Result<usize, Invalid> {
        let rest = doc.get(open..).unwrap_or_default();
        let hash = scan::prefix_hash(rest);
        let Some(slot) = self.slots.get_mut((hash >> 60) as usize % IDENTITY_SLOTS) else {
            return user_identity(c, doc, open);
        };
        if !slot.bytes.is_empty() && scan::starts_with(rest, &slot.bytes) {
            c.seen |= slot.claims;
            for (field, value) in IDENTITY_FIELDS.iter().zip(&slot.fields) {
                let text = match value {
                    Remembered::None => None,
                    Remembered::At(start, end) => rest
                        .get(*start..*end)
                        .and_then(|raw| std::str::from_utf8(raw).ok())
                        .map(Text::Borrowed),
                    Remembered::Owned(text) => Some(Text::Owned(text.clone())),
                };
                if let Some(slot) = c.slot(*field) {
                    *slot = text;
                }
            }
            #[cfg(test)]
            {
                self.replays += 1;
            }
            return Ok(open + slot.bytes.len());
        }
        let claims_before = c.seen;
        let end = user_identity(c, doc, open)?;
        let object = doc.get(open..end).unwrap_or_default();
        let second = slot.last_miss == hash;
        slot.last_miss = hash;
        if !second || object.len() > IDENTITY_MAX {
            return Ok(end);
        }
        slot.bytes.clear();
        slot.claims = c.seen & !claims_before;
        let base = object.as_ptr() as usize;
        for (field, remembered) in IDENTITY_FIELDS.iter().zip(slot.fields.iter_mut()) {
            *remembered = match c.slot(*field).as_deref() {
                None | Some(None) => Remembered::None,
                Some(Some(Text::Owned(text))) => Remembered::Owned(text.clone()),
                Some(Some(Text::Borrowed(text))) => {
                    // A borrowed text lies inside the object: its offset is the
                    // address difference.
                    let from = (text.as_ptr() as usize).wrapping_sub(base);
                    let to = from.wrapping_add(text.len());
                    if from > object.len() || to > object.len() {
                        // Not from this object (cannot happen): remember nothing.
                        return Ok(end);
                    }
                    Remembered::At(from, to)
                }
            };
        }
        slot.bytes.extend_from_slice(object);
        Ok(end)
    }
}

/// Why `record` is not read: what [`scan::validate`] says of it. (The one-pass
/// reader accepts exactly the objects `validate` accepts, as the tests check; were
/// they ever to disagree, the record would still be passed through, as a record
/// that is not an object.)
#[cold]
fn malformed(record: &[u8]) -> Malformed {
    match scan::validate(record) {
        Err(e) => Malformed::Json(e),
        Ok(_) => Malformed::NotAnObject,
    }
}

/// What one walk over an object found: the raw-event fields (used if it is a raw
/// event or a batch element) and the first value of each key that decides a shape.
#[derive(Default)]
struct Found<'a> {
    c: Collector<'a>,
    /// The object itself, for the ECS walk.
    object: &'a [u8],
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

/// Reads `doc` as one JSON object with nothing but whitespace around it.
fn read_document<'a>(doc: &'a [u8], top: Top<'_>, found: &mut Found<'a>) -> Result<(), Invalid> {
    let open = scan::skip_ws(doc, 0);
    let end = read_object(doc, open, top, found)?;
    if scan::skip_ws(doc, end) != doc.len() {
        return Err(Invalid);
    }
    Ok(())
}

/// A value read by [`ObjectReader::span`] as a [`Value`] (its exact bytes).
fn value_of(doc: &[u8], (start, end, kind): (usize, usize, Kind)) -> Value<'_> {
    Value {
        kind,
        bytes: doc.get(start..end).unwrap_or_default(),
    }
}

/// The top-level keys the walk tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TopKey {
    Field(Field),
    UserIdentity,
    Records,
    DetailType,
    Detail,
    EventAction,
    Event,
    Log,
    Message,
    Detection,
    SourceAs,
    Other,
}

/// Which top-level key `key` (decoded) is.
#[inline]
fn top_key(key: &[u8]) -> TopKey {
    let field = |f| TopKey::Field(f);
    match key.len() {
        3 if scan::is_literal(key, b"log") => TopKey::Log,
        5 if scan::is_literal(key, b"event") => TopKey::Event,
        6 if scan::is_literal(key, b"detail") => TopKey::Detail,
        7 if scan::is_literal(key, b"Records") => TopKey::Records,
        7 if scan::is_literal(key, b"message") => TopKey::Message,
        9 if scan::is_literal(key, b"eventName") => field(Field::Action),
        9 if scan::is_literal(key, b"eventTime") => field(Field::Time),
        9 if scan::is_literal(key, b"awsRegion") => field(Field::Region),
        9 if scan::is_literal(key, b"userAgent") => field(Field::UserAgent),
        9 if scan::is_literal(key, b"errorCode") => field(Field::ErrorCode),
        9 if scan::is_literal(key, b"detection") => TopKey::Detection,
        9 if scan::is_literal(key, b"source_as") => TopKey::SourceAs,
        11 if scan::is_literal(key, b"eventSource") => field(Field::Provider),
        11 if scan::is_literal(key, b"detail-type") => TopKey::DetailType,
        12 if scan::is_literal(key, b"userIdentity") => TopKey::UserIdentity,
        12 if scan::is_literal(key, b"event.action") => TopKey::EventAction,
        15 if scan::is_literal(key, b"sourceIPAddress") => field(Field::SourceIp),
        18 if scan::is_literal(key, b"recipientAccountId") => field(Field::RecipientAccount),
        _ => TopKey::Other,
    }
}

/// The top-level keys of a CloudTrail event as AWS spells them, recognised from
/// their bytes ([`scan::Spelled`]) before the general key read and [`top_key`]: a
/// CloudTrail record has about twenty of them, and two or three word comparisons
/// cost less than validating the key and dispatching on its length.
#[inline(always)]
fn spelled_top_key(doc: &[u8], at: usize) -> Option<(TopKey, usize)> {
    use Field as F;
    use TopKey as T;
    scan::spelled_key!(doc, at, TopKey, {
        b"eventVersion" => T::Other,
        b"userIdentity" => T::UserIdentity,
        b"eventTime" => T::Field(F::Time),
        b"eventSource" => T::Field(F::Provider),
        b"eventName" => T::Field(F::Action),
        b"awsRegion" => T::Field(F::Region),
        b"sourceIPAddress" => T::Field(F::SourceIp),
        b"userAgent" => T::Field(F::UserAgent),
        b"errorCode" => T::Field(F::ErrorCode),
        b"errorMessage" => T::Other,
        b"requestParameters" => T::Other,
        b"responseElements" => T::Other,
        b"requestID" => T::Other,
        b"eventID" => T::Other,
        b"readOnly" => T::Other,
        b"eventType" => T::Other,
        b"managementEvent" => T::Other,
        b"recipientAccountId" => T::Field(F::RecipientAccount),
        b"eventCategory" => T::Other,
        b"tlsDetails" => T::Other,
        b"resources" => T::Other,
        b"additionalEventData" => T::Other,
        b"sharedEventID" => T::Other,
    })
}

/// Reads the object whose `{` is at `open` in one validating pass (see the module
/// docs) into `f` (fresh) and returns the offset just past its `}`. `members` (the
/// record's own top level only) receives the `detection` and `source_as` value
/// spans.
fn read_object<'a>(
    doc: &'a [u8],
    open: usize,
    top: Top<'_>,
    f: &mut Found<'a>,
) -> Result<usize, Invalid> {
    let Top {
        mut members,
        mut memo,
    } = top;
    let mut r = ObjectReader::open(doc, open)?;
    while let Some(key) = r.next_named(spelled_top_key, top_key)? {
        match key {
            TopKey::Field(field) => {
                f.raw |= matches!(field, Field::Action | Field::Provider);
                f.c.take(field, doc, &mut r)?;
            }
            TopKey::UserIdentity => {
                // The first occurrence counts, whatever its type; read in place.
                if f.c.claim(Field::UserIdentity) && r.at_object() {
                    let end = match memo.as_deref_mut() {
                        Some(memo) => memo.read(&mut f.c, doc, r.pos)?,
                        None => user_identity(&mut f.c, doc, r.pos)?,
                    };
                    r.resume(end);
                } else {
                    r.skip()?;
                }
            }
            TopKey::Records => first(&mut f.records, value_of(doc, r.span()?)),
            TopKey::DetailType => first(&mut f.detail_type, value_of(doc, r.span()?)),
            TopKey::Detail => first(&mut f.detail, value_of(doc, r.span()?)),
            TopKey::Log => first(&mut f.log, value_of(doc, r.span()?)),
            TopKey::Message => first(&mut f.message, value_of(doc, r.span()?)),
            TopKey::EventAction => {
                f.ecs = true;
                r.skip()?;
            }
            TopKey::Event => {
                // Every occurrence: an object with a direct `action` member is ECS.
                if r.at_object() {
                    let (end, action) = has_action(doc, r.pos)?;
                    f.ecs |= action;
                    r.resume(end);
                } else {
                    r.skip()?;
                }
            }
            key @ (TopKey::Detection | TopKey::SourceAs) => match members.as_deref_mut() {
                Some(m) => {
                    let (start, end, _) = r.span()?;
                    let spans = match key {
                        TopKey::Detection => &mut m.detection,
                        _ => &mut m.source_as,
                    };
                    spans.push((start, end));
                }
                None => {
                    r.skip()?;
                }
            },
            TopKey::Other => {
                r.skip()?;
            }
        }
    }
    f.object = doc.get(open..r.pos).unwrap_or_default();
    Ok(r.pos)
}

/// Whether the object at `open` has a member named `action`; and its end.
fn has_action(doc: &[u8], open: usize) -> Result<(usize, bool), Invalid> {
    let mut r = ObjectReader::open(doc, open)?;
    let mut found = false;
    while let Some(key) = r.next_key()? {
        found |= scan::is_literal(&key.name(), b"action");
        r.skip()?;
    }
    Ok((r.pos, found))
}

/// Visits the events of an object read by [`read_object`]; `unwrap` allows one
/// level of `log` / `message` unwrapping.
fn visit_found(found: &mut Found<'_>, visit: &mut dyn FnMut(EventSlot<'_>), unwrap: bool) -> Shape {
    if found.raw {
        visit(EventSlot {
            index: None,
            event: found.c.finished(),
        });
        return Shape::Raw;
    }
    if let Some(records) = found.records.filter(|v| v.kind == Kind::Array) {
        visit_batch(records.bytes, visit);
        return Shape::Batch;
    }
    let is_api_call = found
        .detail_type
        .and_then(|v| v.as_raw_str())
        .is_some_and(|s| s.is("AWS API Call via CloudTrail"));
    if let (true, Some(detail)) = (is_api_call, found.detail) {
        if detail.kind == Kind::Object {
            let mut inner = Found::default();
            if read_object(detail.bytes, 0, Top::default(), &mut inner).is_ok() {
                visit(EventSlot {
                    index: None,
                    event: inner.c.finished(),
                });
            }
            return Shape::EventBridge;
        }
    }
    if found.ecs {
        let event = ecs_event(Value {
            kind: Kind::Object,
            bytes: found.object,
        });
        visit(EventSlot {
            index: None,
            event: &event,
        });
        return Shape::Ecs;
    }
    if unwrap {
        for (key, value) in [(WrapKey::Log, found.log), (WrapKey::Message, found.message)] {
            let Some(text) = value.and_then(|v| v.decode_str()) else {
                continue;
            };
            let mut inner = Found::default();
            if read_document(text.as_bytes(), Top::default(), &mut inner).is_err() {
                continue;
            }
            if visit_found(&mut inner, visit, false) != Shape::Unknown {
                return Shape::Wrapped(key);
            }
        }
    }
    Shape::Unknown
}

/// The elements of a validated `Records` array: each object is an event, read with
/// [`read_object`]; every element counts in the positions.
fn visit_batch(array: &[u8], visit: &mut dyn FnMut(EventSlot<'_>)) {
    let mut pos = scan::skip_ws(array, 1);
    if array.get(pos) == Some(&b']') {
        return;
    }
    let mut index = 0usize;
    loop {
        let end = if array.get(pos) == Some(&b'{') {
            let mut element = Found::default();
            let Ok(end) = read_object(array, pos, Top::default(), &mut element) else {
                return;
            };
            visit(EventSlot {
                index: Some(index),
                event: element.c.finished(),
            });
            end
        } else {
            let Ok(end) = scan::checked_value(array, pos) else {
                return;
            };
            end
        };
        index += 1;
        pos = scan::skip_ws(array, end);
        if array.get(pos) != Some(&b',') {
            return;
        }
        pos = scan::skip_ws(array, pos + 1);
    }
}

/// Fields of [`Event`], as bits for "first occurrence seen".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

    /// The field at the cursor of `r` (a top-level or `userIdentity` member),
    /// validated and stepped over; kept if it is the field's first occurrence.
    #[inline]
    fn take(
        &mut self,
        field: Field,
        doc: &'a [u8],
        r: &mut ObjectReader<'a>,
    ) -> Result<(), Invalid> {
        if !self.claim(field) {
            r.skip()?;
            return Ok(());
        }
        let text = match r.string()? {
            // Validated: the bytes of a string without escapes are UTF-8.
            Some(s) if !s.escaped => std::str::from_utf8(s.raw).ok().map(Text::Borrowed),
            Some(s) => scan::decode_string(s.raw).ok(),
            None => {
                let value = value_of(doc, r.span()?);
                match field {
                    Field::AccountId | Field::RecipientAccount if value.kind == Kind::Number => {
                        account_number(value.bytes)
                    }
                    _ => None,
                }
            }
        };
        if let Some(slot) = self.slot(field) {
            *slot = text;
        }
        Ok(())
    }

    /// Where a string field is kept (`None` for the fields that are not text).
    #[inline]
    fn slot(&mut self, field: Field) -> Option<&mut Option<Text<'a>>> {
        let e = &mut self.event;
        Some(match field {
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
                return None
            }
        })
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
        if let Some(slot) = self.slot(field) {
            *slot = text;
        }
    }

    /// Applies the fallbacks in place (as [`Collector::finish`]) and lends the event.
    fn finished(&mut self) -> &Event<'a> {
        if self.event.user_name.is_none() {
            self.event.user_name = self.identity_user_name.take();
        }
        if self.event.account_id.is_none() {
            self.event.account_id = self.recipient_account.take();
        }
        &self.event
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

/// Which `userIdentity` member `key` (decoded) is: a field, or `sessionContext`
/// (`Field::SessionContext`).
#[inline]
fn identity_key(key: &[u8]) -> Option<Field> {
    Some(match key.len() {
        3 if scan::is_literal(key, b"arn") => Field::Arn,
        4 if scan::is_literal(key, b"type") => Field::IdentityType,
        8 if scan::is_literal(key, b"userName") => Field::IdentityUserName,
        9 if scan::is_literal(key, b"accountId") => Field::AccountId,
        11 if scan::is_literal(key, b"accessKeyId") => Field::AccessKeyId,
        14 if scan::is_literal(key, b"sessionContext") => Field::SessionContext,
        _ => return None,
    })
}

/// The `userIdentity` keys (and those of `sessionIssuer`, which has the same
/// ones) as AWS spells them, recognised from their bytes before [`identity_key`]:
/// see [`spelled_top_key`].
#[inline(always)]
fn spelled_identity_key(doc: &[u8], at: usize) -> Option<(Option<Field>, usize)> {
    scan::spelled_key!(doc, at, Option<Field>, {
        b"type" => Some(Field::IdentityType),
        b"arn" => Some(Field::Arn),
        b"principalId" => None,
        b"accountId" => Some(Field::AccountId),
        b"accessKeyId" => Some(Field::AccessKeyId),
        b"userName" => Some(Field::IdentityUserName),
        b"sessionContext" => Some(Field::SessionContext),
        b"invokedBy" => None,
    })
}

/// The fields of the `userIdentity` object at `open`, read in place (and validated)
/// to its closing brace, whose end is returned; `sessionContext` and
/// `sessionIssuer` are read in place too.
fn user_identity<'a>(c: &mut Collector<'a>, doc: &'a [u8], open: usize) -> Result<usize, Invalid> {
    let mut r = ObjectReader::open(doc, open)?;
    while let Some(field) = r.next_named(spelled_identity_key, identity_key)? {
        if let Some(Field::SessionContext) = field {
            // Claimed whatever its type: a later duplicate never counts.
            if c.claim(Field::SessionContext) && r.at_object() {
                let end = session_context(c, doc, r.pos)?;
                r.resume(end);
                continue;
            }
        } else if let Some(field) = field {
            c.take(field, doc, &mut r)?;
            continue;
        }
        r.skip()?;
    }
    Ok(r.pos)
}

/// `sessionContext`: only `sessionIssuer.userName` is wanted.
fn session_context<'a>(
    c: &mut Collector<'a>,
    doc: &'a [u8],
    open: usize,
) -> Result<usize, Invalid> {
    let mut r = ObjectReader::open(doc, open)?;
    while let Some(issuer) = r.next_named(spelled_context_key, is_issuer)? {
        if issuer && c.claim(Field::SessionIssuer) && r.at_object() {
            let end = session_issuer(c, doc, r.pos)?;
            r.resume(end);
        } else {
            r.skip()?;
        }
    }
    Ok(r.pos)
}

/// Whether a `sessionContext` key is `sessionIssuer`.
fn is_issuer(key: &[u8]) -> bool {
    scan::is_literal(key, b"sessionIssuer")
}

/// [`is_issuer`] for the `sessionContext` keys AWS writes, recognised from their
/// bytes (see [`spelled_top_key`]).
#[inline(always)]
fn spelled_context_key(doc: &[u8], at: usize) -> Option<(bool, usize)> {
    scan::spelled_key!(doc, at, bool, {
        b"sessionIssuer" => true,
        b"attributes" => false,
    })
}

/// `sessionIssuer.userName`: Elastic's `user.name` and the role name.
fn session_issuer<'a>(c: &mut Collector<'a>, doc: &'a [u8], open: usize) -> Result<usize, Invalid> {
    let mut r = ObjectReader::open(doc, open)?;
    // The issuer's keys are the identity's own (`type`, `arn`, `userName`, ...).
    while let Some(field) = r.next_named(spelled_identity_key, identity_key)? {
        if field == Some(Field::IdentityUserName) && c.claim(Field::RoleName) {
            let name = match r.string()? {
                Some(s) if !s.escaped => std::str::from_utf8(s.raw).ok().map(Text::Borrowed),
                Some(s) => scan::decode_string(s.raw).ok(),
                None => {
                    r.skip()?;
                    None
                }
            };
            if let Some(name) = name {
                c.event.role_name = Some(name.clone());
                c.event.user_name = Some(name);
            }
        } else {
            r.skip()?;
        }
    }
    Ok(r.pos)
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
mod reference;

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

    type Recognise<K> = fn(&[u8], usize) -> Option<(K, usize)>;

    /// Recognising a key by its bytes ([`scan::Spelled`]) gives what reading it does: the
    /// same name and the reader at the same value, wherever it answers (every name
    /// of a table with one byte changed anywhere, cut short, escaped, spaced,
    /// extended; then names changed at random, first or after another member); and
    /// it does answer for each name in AWS's compact spelling, through
    /// [`ObjectReader::next_named`] too.
    fn check_spelled<K: Copy + PartialEq + std::fmt::Debug>(
        names: &[&str],
        spelled: Recognise<K>,
        name_of: fn(&[u8]) -> K,
    ) {
        // The last member's key of `doc` (`{"k":...` or `{"a":1,"k":...`).
        fn last_member(doc: &[u8]) -> Option<(ObjectReader<'_>, usize)> {
            let mut r = ObjectReader::open(doc, 0).ok()?;
            let mut at = r.next_member().ok()??;
            if doc.starts_with(b"{\"a\":1,") {
                r.key_at(at).ok()?;
                r.skip().ok()?;
                at = r.next_member().ok()??;
            }
            Some((r, at))
        }
        let general = |doc: &[u8]| -> Option<(K, usize)> {
            let (mut r, at) = last_member(doc)?;
            let key = name_of(&r.key_at(at).ok()?.name());
            Some((key, r.pos))
        };
        let recognised = |doc: &[u8]| -> Option<(K, usize)> {
            let (mut r, at) = last_member(doc)?;
            let (key, after_colon) = spelled(doc, at)?;
            r.value_at(after_colon);
            Some((key, r.pos))
        };
        let mut docs: Vec<Vec<u8>> = Vec::new();
        for name in names {
            for compact in [
                format!("{{\"{name}\":\"xxxxxxxx\"}}"),
                format!("{{\"{name}\": {{}}}}"),
            ] {
                let found = recognised(compact.as_bytes());
                assert!(found.is_some(), "{compact}");
                assert_eq!(found, general(compact.as_bytes()), "{compact}");
                let mut r = ObjectReader::open(compact.as_bytes(), 0).unwrap();
                let named = r.next_named(spelled, name_of).unwrap();
                assert_eq!(named.map(|key| (key, r.pos)), found, "{compact}");
                docs.push(compact.into_bytes());
            }
            let (init, last) = name.split_at(name.len() - 1);
            docs.push(format!("{{\"a\":1,\"{name}\":\"xxxxxxxx\"}}").into_bytes());
            docs.push(format!("{{\"{init}\\\"\":\"xxxxxxxx\"}}").into_bytes());
            docs.push(format!("{{\"{name}\" :1}}").into_bytes());
            docs.push(format!("{{ \"{name}\":1}}").into_bytes());
            docs.push(format!("{{\"{name}x\":1}}").into_bytes());
            docs.push(format!("{{\"{init}\":1}}").into_bytes());
            docs.push(format!("{{\"{init}\\u00{:02x}\":1}}", last.as_bytes()[0]).into_bytes());
            for at in 1..name.len() + 4 {
                let mut changed = format!("{{\"{name}\":\"xxxxxxxx\"}}").into_bytes();
                changed[at] ^= 0x20;
                docs.push(changed);
            }
        }
        // Names changed at random (a fixed seed): bytes that matter to a key read.
        let alphabet = b"aeIdnt\"\\:u0 \t\x01\x80{}";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound as u64) as usize
        };
        for _ in 0..4_000 {
            let name = names[next(names.len())];
            let mut key = name.as_bytes().to_vec();
            for _ in 0..next(4) {
                let at = next(key.len() + 1);
                let b = alphabet[next(alphabet.len())];
                match next(3) {
                    0 if at < key.len() => key[at] = b,
                    1 if at < key.len() => {
                        key.remove(at);
                    }
                    _ => key.insert(at, b),
                }
            }
            let prefix: &[u8] = if next(2) == 0 { b"{" } else { b"{\"a\":1," };
            let mut doc = prefix.to_vec();
            doc.push(b'"');
            doc.extend_from_slice(&key);
            doc.extend_from_slice(b"\":\"xxxxxxxx\"}");
            let cut = doc.len() - next(doc.len().min(12));
            doc.truncate(cut);
            docs.push(doc);
        }
        let mut answered = 0;
        for doc in &docs {
            for cut in 0..=doc.len() {
                let text = &doc[..cut];
                if let Some(found) = recognised(text) {
                    answered += 1;
                    assert_eq!(
                        Some(found),
                        general(text),
                        "{}",
                        String::from_utf8_lossy(text)
                    );
                }
            }
        }
        assert!(answered > names.len() * 2, "{answered}");
    }

    #[test]
    fn spelled_keys_read_as_the_reader_reads_them() {
        let more = [
            "userAgent",
            "errorCode",
            "errorMessage",
            "requestParameters",
            "responseElements",
            "requestID",
            "eventID",
            "readOnly",
            "eventType",
            "managementEvent",
            "recipientAccountId",
            "eventCategory",
            "tlsDetails",
            "resources",
            "additionalEventData",
            "sharedEventID",
        ];
        let top: Vec<&str> = scan::AWS_FIRST_KEYS.into_iter().chain(more).collect();
        check_spelled(&top, spelled_top_key, top_key);
        let identity = [
            "type",
            "principalId",
            "arn",
            "accountId",
            "accessKeyId",
            "userName",
            "sessionContext",
            "invokedBy",
        ];
        check_spelled(&identity, spelled_identity_key, identity_key);
        check_spelled(
            &["sessionIssuer", "attributes"],
            spelled_context_key,
            is_issuer,
        );
    }

    /// Every key the walk tells apart, and every one-byte change, deletion or
    /// addition of one: only the exact key matches (the comparison reads words).
    #[test]
    fn keys_are_told_apart_exactly() {
        let tops = [
            "log",
            "event",
            "detail",
            "Records",
            "message",
            "eventName",
            "eventTime",
            "awsRegion",
            "userAgent",
            "errorCode",
            "detection",
            "source_as",
            "eventSource",
            "detail-type",
            "userIdentity",
            "event.action",
            "sourceIPAddress",
            "recipientAccountId",
        ];
        let ids = [
            "arn",
            "type",
            "userName",
            "accountId",
            "accessKeyId",
            "sessionContext",
        ];
        let top_name = |k: &[u8]| format!("{:?}", std::mem::discriminant(&top_key(k)));
        for key in tops {
            let id = top_name(key.as_bytes());
            assert_ne!(id, top_name(b"zzz"), "{key}");
            let mut variants: Vec<Vec<u8>> = Vec::new();
            for at in 0..key.len() {
                let mut v = key.as_bytes().to_vec();
                if let Some(b) = v.get_mut(at) {
                    *b ^= 0x20;
                }
                variants.push(v);
                let mut shorter = key.as_bytes().to_vec();
                shorter.remove(at);
                variants.push(shorter);
            }
            variants.push(format!("{key}x").into_bytes());
            variants.push(format!("x{key}").into_bytes());
            for v in variants {
                assert!(
                    matches!(top_key(&v), TopKey::Other) || tops.iter().any(|t| t.as_bytes() == v),
                    "{key} {:?}",
                    String::from_utf8_lossy(&v)
                );
            }
        }
        for key in ids {
            assert!(identity_key(key.as_bytes()).is_some(), "{key}");
            for at in 0..key.len() {
                let mut v = key.as_bytes().to_vec();
                if let Some(b) = v.get_mut(at) {
                    *b ^= 0x01;
                }
                assert!(identity_key(&v).is_none(), "{key}");
            }
        }
        assert!(scan::is_literal(b"sessionIssuer", b"sessionIssuer"));
        assert!(!scan::is_literal(b"sessionIssueR", b"sessionIssuer"));
        assert!(!scan::is_literal(b"SessionIssuer", b"sessionIssuer"));
        assert!(!scan::is_literal(b"sessionIssue", b"sessionIssuer"));
        assert!(
            scan::is_literal(b"", b"")
                && scan::is_literal(b"a", b"a")
                && !scan::is_literal(b"a", b"b")
        );
    }

    /// A small deterministic generator for the property tests below. `plain`: no
    /// escapes and no duplicate keys.
    struct Gen(u64, bool);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }
        fn pick<'t>(&mut self, items: &[&'t str]) -> &'t str {
            items
                .get(self.below(items.len()))
                .copied()
                .unwrap_or_default()
        }
        fn ws(&mut self) -> &'static str {
            if self.chance(80) {
                ""
            } else {
                self.pick(&[" ", "\n", "\t ", "\r\n  "])
            }
        }
        /// A JSON string literal for `text`, characters escaped at random
        /// (`\uXXXX` in either case, surrogate pairs, `\/`).
        fn string(&mut self, text: &str) -> String {
            let escapes = !self.1 && self.chance(25);
            let mut out = String::from("\"");
            for c in text.chars() {
                let escape = escapes && self.chance(30);
                match c {
                    '"' if !escape => out.push_str("\\\""),
                    '\\' if !escape => out.push_str("\\\\"),
                    '/' if escape && self.chance(50) => out.push_str("\\/"),
                    c if escape || (c as u32) < 0x20 => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            if self.chance(50) {
                                out.push_str(&format!("\\u{unit:04x}"));
                            } else {
                                out.push_str(&format!("\\u{unit:04X}"));
                            }
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        fn object(&mut self, members: &[(String, String)]) -> String {
            let mut out = String::from("{");
            out.push_str(self.ws());
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    out.push_str(self.ws());
                }
                let key = self.string(key);
                out.push_str(&key);
                out.push_str(self.ws());
                out.push(':');
                out.push_str(self.ws());
                out.push_str(value);
                out.push_str(self.ws());
            }
            out.push('}');
            out
        }
        /// Any JSON value, nested up to `depth` levels (test code: recursion is
        /// fine here).
        fn value(&mut self, depth: usize) -> String {
            match self.below(if depth == 0 { 5 } else { 7 }) {
                0 => {
                    let t =
                        self.pick(&["x", "", "caf\u{e9}", "a\"b", "\u{1f600}", "eventName", "}]"]);
                    self.string(t)
                }
                1 => self
                    .pick(&["0", "-1", "1.5e3", "123456789012", "-0.0", "1E+2"])
                    .to_owned(),
                2 => self.pick(&["true", "false", "null"]).to_owned(),
                3 => self.string("ListUsers"),
                4 => "{}".to_owned(),
                5 => {
                    let n = self.below(4);
                    let items: Vec<String> = (0..n).map(|_| self.value(depth - 1)).collect();
                    format!("[{}]", items.join(","))
                }
                _ => {
                    let n = self.below(4);
                    let keys = ["a", "eventName", "userName", "action", "sessionIssuer", "b"];
                    let mut members: Vec<(String, String)> = (0..n)
                        .map(|_| (self.pick(&keys).to_owned(), self.value(depth - 1)))
                        .collect();
                    if self.1 {
                        let mut seen = std::collections::BTreeSet::new();
                        members.retain(|(k, _)| seen.insert(k.clone()));
                    }
                    self.object(&members)
                }
            }
        }
        /// A field value: usually a string of `choices`, sometimes anything.
        fn field(&mut self, choices: &[&str]) -> String {
            if self.chance(10) {
                return self.value(2);
            }
            let t = self.pick(choices);
            self.string(t)
        }
        /// Members in a random order, some duplicated with another value after.
        fn members(&mut self, mut members: Vec<(String, String)>) -> Vec<(String, String)> {
            for i in (1..members.len()).rev() {
                let j = self.below(i + 1);
                members.swap(i, j);
            }
            let mut out = Vec::new();
            for (key, value) in members {
                let dup = !self.1 && self.chance(10);
                out.push((key.clone(), value));
                if dup {
                    let other = self.value(1);
                    out.push((key, other));
                }
            }
            out
        }
        fn account(&mut self) -> String {
            match self.below(4) {
                0 => self
                    .pick(&["111122223333", "11122223333", "1.2e3", "-5", "0.5"])
                    .to_owned(),
                _ => self.field(&["111122223333", "444455556666", ""]),
            }
        }
        fn identity(&mut self) -> String {
            if self.chance(5) {
                return self.value(1);
            }
            let issuer = {
                let members = vec![
                    ("type".to_owned(), self.string("Role")),
                    (
                        "userName".to_owned(),
                        self.field(&["web-role", "", "r\u{e9}le"]),
                    ),
                    (
                        "arn".to_owned(),
                        self.string("arn:aws:iam::111122223333:role/web-role"),
                    ),
                ];
                let members = self.members(members);
                self.object(&members)
            };
            let context = if self.chance(10) {
                self.value(1)
            } else {
                let attributes = self.value(2);
                let members = vec![
                    ("sessionIssuer".to_owned(), issuer),
                    ("attributes".to_owned(), attributes),
                ];
                let members = self.members(members);
                self.object(&members)
            };
            let mut members = vec![
                (
                    "type".to_owned(),
                    self.field(&["AssumedRole", "IAMUser", "AWSService"]),
                ),
                ("principalId".to_owned(), self.string("AROAEXAMPLE:i-0abc")),
                (
                    "arn".to_owned(),
                    self.field(&[
                        "arn:aws:sts::111122223333:assumed-role/web-role/i-0abc1234def567890",
                        "arn:aws:iam::111122223333:user/alice",
                    ]),
                ),
                ("accountId".to_owned(), self.account()),
                (
                    "accessKeyId".to_owned(),
                    self.field(&["ASIAEXAMPLE", "AKIA"]),
                ),
                ("userName".to_owned(), self.field(&["alice", "bob"])),
            ];
            if self.chance(80) {
                members.push(("sessionContext".to_owned(), context));
            }
            members.retain(|_| self.chance(85));
            let members = self.members(members);
            self.object(&members)
        }
        /// A CloudTrail event object.
        fn event(&mut self) -> String {
            let mut members = vec![
                ("eventVersion".to_owned(), self.string("1.08")),
                ("userIdentity".to_owned(), self.identity()),
                (
                    "eventTime".to_owned(),
                    self.field(&["2026-06-01T12:00:00Z", "bad"]),
                ),
                (
                    "eventSource".to_owned(),
                    self.field(&["iam.amazonaws.com", "s3.amazonaws.com"]),
                ),
                (
                    "eventName".to_owned(),
                    self.field(&["ListUsers", "GetObject", "ListFunctions20150331"]),
                ),
                ("awsRegion".to_owned(), self.field(&["us-east-1"])),
                (
                    "sourceIPAddress".to_owned(),
                    self.field(&["146.70.117.42", "AWS Internal", "2001:db8::1"]),
                ),
                (
                    "userAgent".to_owned(),
                    self.field(&["aws-cli/2.15.0", "caf\u{e9} \u{1f600}"]),
                ),
                ("errorCode".to_owned(), self.field(&["AccessDenied"])),
                ("requestParameters".to_owned(), self.value(3)),
                ("responseElements".to_owned(), self.value(1)),
                ("recipientAccountId".to_owned(), self.account()),
                ("tlsDetails".to_owned(), self.value(2)),
                ("detection".to_owned(), self.value(2)),
                ("source_as".to_owned(), self.value(1)),
            ];
            members.retain(|_| self.chance(80));
            let members = self.members(members);
            self.object(&members)
        }
        /// A record of any shape.
        fn record(&mut self) -> String {
            match self.below(8) {
                0 => {
                    let n = self.below(4);
                    let items: Vec<String> = (0..n)
                        .map(|_| {
                            if self.chance(80) {
                                self.event()
                            } else {
                                self.value(1)
                            }
                        })
                        .collect();
                    let records = format!("[{}]", items.join(","));
                    let detection = self.value(1);
                    let members = self.members(vec![
                        ("Records".to_owned(), records),
                        ("detection".to_owned(), detection),
                    ]);
                    self.object(&members)
                }
                1 => {
                    let event = self.event();
                    let kind = self.field(&["AWS API Call via CloudTrail", "Other"]);
                    let version = self.string("0");
                    let members = self.members(vec![
                        ("detail-type".to_owned(), kind),
                        ("detail".to_owned(), event),
                        ("version".to_owned(), version),
                    ]);
                    self.object(&members)
                }
                2 => {
                    let event = {
                        let action = self.field(&["ListUsers", "GetObject"]);
                        let outcome = self.field(&["success", "failure", "x"]);
                        let provider = self.string("iam.amazonaws.com");
                        let members = self.members(vec![
                            ("action".to_owned(), action),
                            ("outcome".to_owned(), outcome),
                            ("provider".to_owned(), provider),
                        ]);
                        self.object(&members)
                    };
                    let dotted = self.field(&["ListUsers"]);
                    let mut members = vec![
                        ("@timestamp".to_owned(), self.string("2026-06-01T12:00:00Z")),
                        ("source.ip".to_owned(), self.string("146.70.117.42")),
                        ("cloud.account.id".to_owned(), self.account()),
                    ];
                    if self.chance(50) {
                        members.push(("event".to_owned(), event));
                    } else {
                        members.push(("event.action".to_owned(), dotted));
                    }
                    let members = self.members(members);
                    self.object(&members)
                }
                3 | 4 => {
                    let inner = if self.chance(70) {
                        self.event()
                    } else {
                        self.record()
                    };
                    let wrapped = if self.chance(10) {
                        self.value(1)
                    } else {
                        self.string(&inner)
                    };
                    let key = self.pick(&["log", "message"]);
                    let stream = self.string("stdout");
                    let members = self.members(vec![
                        (key.to_owned(), wrapped),
                        ("stream".to_owned(), stream),
                    ]);
                    self.object(&members)
                }
                5 => self.value(3),
                _ => self.event(),
            }
        }
        /// One to three random byte edits.
        fn mutate(&mut self, doc: &mut Vec<u8>) {
            let alphabet = b"{}[]\":,\\u0 \t\na1e-.tfn\x80\xc3\xa9\x00/";
            for _ in 0..=self.below(3) {
                let at = self.below(doc.len() + 1);
                let byte = alphabet
                    .get(self.below(alphabet.len()))
                    .copied()
                    .unwrap_or(b' ');
                match self.below(3) {
                    0 => doc.insert(at, byte),
                    1 if at < doc.len() => {
                        doc.remove(at);
                    }
                    _ => {
                        if let Some(b) = doc.get_mut(at) {
                            *b = byte;
                        }
                    }
                }
            }
        }
    }

    /// Everything `visit_events` says about a record, owned.
    type Observed = Result<(Shape, Vec<(Option<usize>, Event<'static>)>), Malformed>;

    fn outcome_of(
        visit: impl FnOnce(&mut dyn FnMut(EventSlot<'_>)) -> Result<Shape, Malformed>,
    ) -> Observed {
        let mut events = Vec::new();
        let shape = visit(&mut |slot| events.push((slot.index, owned(slot.event))))?;
        Ok((shape, events))
    }

    /// The one-pass reader and the reader it replaced (validate, then walk) agree
    /// on every generated record, valid or broken: same shape, same events with the
    /// same fields, same error. The `detection` spans are the ones the output's own
    /// walk finds, and accept/reject agrees with serde_json.
    #[test]
    fn one_pass_agrees_with_the_two_pass_reader() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15, false);
        let (mut valid, mut fired_shapes) = (0, std::collections::BTreeSet::new());
        for round in 0..30_000 {
            let mut doc = g.record().into_bytes();
            if round % 3 == 0 {
                g.mutate(&mut doc);
            }
            let new = outcome_of(|v| visit_events(&doc, v));
            let old = outcome_of(|v| reference::visit_events(&doc, v));
            assert_eq!(new, old, "{}", String::from_utf8_lossy(&doc));
            if let Ok((shape, _)) = &new {
                valid += 1;
                fired_shapes.insert(format!("{shape:?}"));
                let read = read_events(&doc, &mut |_| {});
                let spans = read.map(|r| r.members.detection).unwrap_or_default();
                assert_eq!(
                    spans,
                    crate::output::existing_values(&doc, "detection"),
                    "{}",
                    String::from_utf8_lossy(&doc)
                );
            }
            // serde_json (strict RFC 8259) accepts the same documents as objects,
            // except lone surrogates and numbers out of f64's range, which it
            // rejects and JSON's grammar allows.
            let theirs = serde_json::from_slice::<serde_json::Value>(&doc);
            let grammar_only = theirs
                .as_ref()
                .is_err_and(|e| e.to_string().contains("out of range"))
                || doc.windows(3).any(|w| w == b"\\ud" || w == b"\\uD");
            if !grammar_only {
                let theirs = matches!(theirs, Ok(serde_json::Value::Object(_)));
                assert_eq!(new.is_ok(), theirs, "{}", String::from_utf8_lossy(&doc));
            }
        }
        assert!(valid > 15_000, "generator too weak: {valid} valid records");
        assert!(fired_shapes.len() >= 6, "{fired_shapes:?}");
    }

    /// With the identity memory, records read in a row (the same identities again
    /// and again, some of them with a byte changed anywhere, inside the identity
    /// too) give what the two-pass reader gives for each.
    #[test]
    fn identity_memory_changes_nothing() {
        let mut g = Gen(0x5851_f42d_4c95_7f2d, false);
        let mut memo = IdentityMemo::default();
        let mut pool: Vec<Vec<u8>> = Vec::new();
        for round in 0..20_000 {
            if round % 200 == 0 {
                pool = (0..6)
                    .map(|_| if g.chance(80) { g.event() } else { g.record() }.into_bytes())
                    .collect();
            }
            let mut doc = pool.get(g.below(pool.len())).cloned().unwrap_or_default();
            if g.chance(40) {
                g.mutate(&mut doc);
            }
            let new = outcome_of(|v| read_events_with(&doc, Some(&mut memo), v).map(|r| r.shape));
            let old = outcome_of(|v| reference::visit_events(&doc, v));
            assert_eq!(new, old, "{}", String::from_utf8_lossy(&doc));
        }
        assert!(memo.replays > 5_000, "only {} replays", memo.replays);
    }

    /// A reference reading of the raw-event fields with serde_json, for records
    /// without duplicate keys (serde_json keeps the last duplicate, the filter the
    /// first), compared with what the one-pass reader extracts.
    #[test]
    fn raw_fields_agree_with_serde_json() {
        use serde_json::Value as J;
        let mut g = Gen(0x2545_f491_4f6c_dd1d, true);
        let mut compared = 0;
        for _ in 0..20_000 {
            let doc = g.event().into_bytes();
            let Ok(J::Object(top)) = serde_json::from_slice::<J>(&doc) else {
                continue;
            };
            let text = String::from_utf8_lossy(&doc);
            let s = |v: Option<&J>| v.and_then(J::as_str).map(str::to_owned);
            let identity = top.get("userIdentity").and_then(J::as_object);
            let id = |k: &str| s(identity.and_then(|i| i.get(k)));
            let issuer_name = identity
                .and_then(|i| i.get("sessionContext"))
                .and_then(J::as_object)
                .and_then(|c| c.get("sessionIssuer"))
                .and_then(J::as_object)
                .and_then(|i| i.get("userName"))
                .and_then(J::as_str)
                .map(str::to_owned);
            let account_id = s(identity.and_then(|i| i.get("accountId")))
                .or_else(|| s(top.get("recipientAccountId")));
            if !top.contains_key("eventName") && !top.contains_key("eventSource") {
                continue;
            }
            let e = one(&doc);
            let got = |t: &Option<Text<'_>>| t.as_deref().map(str::to_owned);
            assert_eq!(got(&e.action), s(top.get("eventName")), "{text}");
            assert_eq!(got(&e.provider), s(top.get("eventSource")), "{text}");
            assert_eq!(got(&e.time), s(top.get("eventTime")), "{text}");
            assert_eq!(got(&e.source_ip), s(top.get("sourceIPAddress")), "{text}");
            assert_eq!(got(&e.error_code), s(top.get("errorCode")), "{text}");
            assert_eq!(got(&e.region), s(top.get("awsRegion")), "{text}");
            assert_eq!(got(&e.user_agent), s(top.get("userAgent")), "{text}");
            assert_eq!(got(&e.arn), id("arn"), "{text}");
            assert_eq!(got(&e.identity_type), id("type"), "{text}");
            assert_eq!(got(&e.access_key_id), id("accessKeyId"), "{text}");
            assert_eq!(got(&e.role_name), issuer_name, "{text}");
            assert_eq!(
                got(&e.user_name),
                issuer_name.clone().or(id("userName")),
                "{text}"
            );
            if !matches!(
                identity.and_then(|i| i.get("accountId")),
                Some(J::Number(_))
            ) && !matches!(top.get("recipientAccountId"), Some(J::Number(_)))
            {
                assert_eq!(got(&e.account_id), account_id, "{text}");
            }
            compared += 1;
        }
        assert!(compared > 3_000, "only {compared} records compared");
    }
}
