//! Structured inputs for the `record` target: CloudTrail events built from
//! fuzzer-chosen fields, most of them drawn from values that make the event a
//! candidate (discovery actions, VPN addresses), so the fuzzer spends its time in
//! the full-parse, rule and state paths instead of the prefilter's early exit.

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{json, Map, Value};
use vpnrecon_filter::config::{DEFAULT_ACTIONS, DEFAULT_PROVIDERS};

const ADDRESSES: [&str; 13] = [
    "2.56.16.10",    // AS9009 M247 (VPN hosting)
    "146.70.117.42", // AS9009 M247
    "8.8.8.8",       // not a VPN; in the prefilter target's local VPN range
    "8.8.8.200",     // the same, allowlisted
    "9.9.9.9",       // not a VPN
    "::ffff:2.56.16.10",
    "2a0d:5600::1",
    "2001:db8::1",
    "10.0.0.1",
    "::ffff:10.0.0.1",
    "ec2.amazonaws.com",
    "AWS Internal",
    "999.1.1.1",
];

const IDENTITY_TYPES: [&str; 6] = [
    "IAMUser",
    "AssumedRole",
    "Root",
    "AWSService",
    "FederatedUser",
    "WebIdentityUser",
];

const ARNS: [&str; 5] = [
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:sts::111122223333:assumed-role/ec2-app-role/i-0abc123",
    "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForConfig/x",
    "arn:aws:iam::111122223333:root",
    "arn:aws:sts::444455556666:assumed-role/lambda-exec/fn",
];

const TIMES: [&str; 7] = [
    "2026-06-01T12:03:11Z",
    "2026-06-01T13:00:00Z",
    "2026-06-12T12:03:11Z",
    "2026-06-01T12:03:11.123Z",
    "2026-06-01T12:03:11+02:00",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
];

/// A field value: usually one of the interesting ones, sometimes anything.
#[derive(Arbitrary, Debug)]
pub enum Pick {
    Known(u8),
    Absent,
    Null,
    Number(i64),
    Text(String),
}

impl Pick {
    fn value(&self, known: &[&str]) -> Option<Value> {
        match self {
            Pick::Known(i) => known
                .get(usize::from(*i) % known.len().max(1))
                .map(|s| Value::from(*s)),
            Pick::Absent => None,
            Pick::Null => Some(Value::Null),
            Pick::Number(n) => Some(Value::from(*n)),
            Pick::Text(s) => Some(Value::from(s.as_str())),
        }
    }
}

#[derive(Arbitrary, Debug)]
pub struct Event {
    action: Pick,
    provider: Pick,
    source_ip: Pick,
    identity_type: Pick,
    arn: Pick,
    event_time: Pick,
    user_name: Option<String>,
    issuer_user_name: Option<String>,
    access_key_id: Option<String>,
    account_id: Option<String>,
    error_code: Option<String>,
    user_agent: Option<String>,
    extra: Vec<(String, String)>,
}

/// How the events reach the module.
#[derive(Arbitrary, Debug)]
pub enum Envelope {
    Raw,
    Records,
    EventBridge,
    LogString,
    MessageString,
}

/// Raw damage applied after serialisation, to reach the error paths of a record
/// that is almost valid.
#[derive(Arbitrary, Debug)]
pub enum Damage {
    None,
    Insert { at: u16, bytes: Vec<u8> },
    Truncate { at: u16 },
    Overwrite { at: u16, byte: u8 },
}

#[derive(Arbitrary, Debug)]
pub struct Batch {
    pub envelope: Envelope,
    pub events: Vec<Event>,
    pub damage: Damage,
    pub record_sec: u32,
}

fn providers() -> Vec<String> {
    DEFAULT_PROVIDERS
        .iter()
        .map(|p| format!("{p}.amazonaws.com"))
        .chain(["example.amazonaws.com".to_owned()])
        .collect()
}

impl Event {
    fn to_json(&self) -> Value {
        let providers = providers();
        let provider_refs: Vec<&str> = providers.iter().map(String::as_str).collect();
        let mut actions: Vec<&str> = DEFAULT_ACTIONS.to_vec();
        actions.extend([
            "ListFunctions20150331",
            "ListFunctions20150331v2",
            "PutObject",
        ]);
        let mut identity = Map::new();
        put(
            &mut identity,
            "type",
            self.identity_type.value(&IDENTITY_TYPES),
        );
        put(&mut identity, "arn", self.arn.value(&ARNS));
        put_text(&mut identity, "userName", &self.user_name);
        put_text(&mut identity, "accessKeyId", &self.access_key_id);
        put_text(&mut identity, "accountId", &self.account_id);
        if let Some(issuer) = &self.issuer_user_name {
            identity.insert(
                "sessionContext".into(),
                json!({"sessionIssuer": {"type": "Role", "userName": issuer}}),
            );
        }
        let mut event = Map::new();
        event.insert("eventVersion".into(), "1.09".into());
        event.insert("userIdentity".into(), Value::Object(identity));
        put(&mut event, "eventTime", self.event_time.value(&TIMES));
        put(
            &mut event,
            "eventSource",
            self.provider.value(&provider_refs),
        );
        put(&mut event, "eventName", self.action.value(&actions));
        event.insert("awsRegion".into(), "us-east-1".into());
        put(
            &mut event,
            "sourceIPAddress",
            self.source_ip.value(&ADDRESSES),
        );
        put_text(&mut event, "userAgent", &self.user_agent);
        put_text(&mut event, "errorCode", &self.error_code);
        event.insert("recipientAccountId".into(), "111122223333".into());
        for (k, v) in self.extra.iter().take(4) {
            event.insert(k.clone(), Value::from(v.as_str()));
        }
        Value::Object(event)
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

fn put_text(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        map.insert(key.into(), Value::from(v.as_str()));
    }
}

impl Batch {
    /// The records this batch sends, in order: one per event, or one `Records`
    /// record for all of them.
    pub fn records(&self) -> Vec<Vec<u8>> {
        let events: Vec<Value> = self.events.iter().take(16).map(Event::to_json).collect();
        let mut records: Vec<Value> = match self.envelope {
            Envelope::Records => vec![json!({ "Records": events })],
            Envelope::Raw => events,
            Envelope::EventBridge => events
                .into_iter()
                .map(|e| {
                    json!({
                        "version": "0", "detail-type": "AWS API Call via CloudTrail",
                        "source": "aws.iam", "detail": e
                    })
                })
                .collect(),
            Envelope::LogString | Envelope::MessageString => {
                let key = if matches!(self.envelope, Envelope::LogString) {
                    "log"
                } else {
                    "message"
                };
                events
                    .into_iter()
                    .map(|e| json!({ key: e.to_string(), "stream": "stdout" }))
                    .collect()
            }
        };
        let mut out: Vec<Vec<u8>> = records
            .iter_mut()
            .map(|r| serde_json::to_vec(r).unwrap_or_default())
            .collect();
        if let Some(last) = out.last_mut() {
            self.damage.apply(last);
        }
        out
    }
}

impl Damage {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let at = |i: u16| usize::from(i) % (bytes.len() + 1);
        match self {
            Damage::None => {}
            Damage::Insert { at: i, bytes: b } => {
                let i = at(*i);
                bytes.splice(i..i, b.iter().copied());
            }
            Damage::Truncate { at: i } => {
                let i = at(*i);
                bytes.truncate(i);
            }
            Damage::Overwrite { at: i, byte } => {
                let i = at(*i);
                if let Some(b) = bytes.get_mut(i) {
                    *b = *byte;
                }
            }
        }
    }
}

/// Decodes a batch from fuzzer bytes.
pub fn batch(data: &[u8]) -> Option<Batch> {
    Batch::arbitrary_take_rest(Unstructured::new(data)).ok()
}
