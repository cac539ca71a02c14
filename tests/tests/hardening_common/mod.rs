//! Shared pieces of the hardening tests: both wasm hosts at Fluent Bit's default
//! sizes, and CloudTrail events built from named parts.
#![allow(dead_code)]

use std::path::Path;

use vpnrecon_host::{
    open, Backend, CallError, CallOutcome, FilterHost, HostOptions, Mode, RecordTime, DEFAULT_TAG,
    FLUENT_BIT_DEFAULT_HEAP, FLUENT_BIT_DEFAULT_STACK,
};

/// The wasm hosts: wasmtime, and WAMR (Fluent Bit's runtime) when built in.
pub fn backends() -> Vec<Backend> {
    [Backend::Wasmtime, Backend::Wamr]
        .into_iter()
        .filter(|b| b.available())
        .collect()
}

/// A host running the embedded module the way Fluent Bit does by default:
/// 8 KiB interpreter stack and app heap, `dir` pre-opened as `.` (or none).
pub fn host(backend: Backend, mode: Mode, dir: Option<&Path>) -> Box<dyn FilterHost> {
    let mut opts = HostOptions::new(mode);
    opts.dir = dir.map(Path::to_path_buf);
    opts.capture_stderr = true;
    assert_eq!(opts.stack_size, FLUENT_BIT_DEFAULT_STACK);
    assert_eq!(opts.heap_size, FLUENT_BIT_DEFAULT_HEAP);
    open(backend, &opts).unwrap_or_else(|e| panic!("opening {backend}: {e:#}"))
}

/// One call; the output in `out`.
pub fn call(
    host: &mut dyn FilterHost,
    record: &[u8],
    out: &mut Vec<u8>,
) -> Result<CallOutcome, CallError> {
    call_at(host, record, RecordTime::default(), out)
}

pub fn call_at(
    host: &mut dyn FilterHost,
    record: &[u8],
    time: RecordTime,
    out: &mut Vec<u8>,
) -> Result<CallOutcome, CallError> {
    host.call(DEFAULT_TAG, time, record, out)
}

/// A CloudTrail discovery call (`iam:ListUsers`) by an IAM user.
pub fn discovery_event(user: &str, ip: &str, time: &str) -> String {
    format!(
        concat!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","#,
            r#""principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/{user}","#,
            r#""accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"{user}"}},"#,
            r#""eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"ListUsers","#,
            r#""awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"aws-cli/2.17.20","#,
            r#""requestParameters":null,"responseElements":null,"recipientAccountId":"111122223333"}}"#
        ),
        user = user,
        ip = ip,
        time = time
    )
}

/// An address in AS9009 (M247), on the built-in VPN list.
pub const VPN_IP: &str = "2.56.16.10";
/// An address outside every listed ASN.
pub const PLAIN_IP: &str = "8.8.8.8";

/// The `vpnrecon_info` document, parsed.
pub fn info(host: &mut dyn FilterHost) -> serde_json::Value {
    let text = host.info().expect("vpnrecon_info");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("info is not JSON ({e}): {text}"))
}

/// `out` is `record` with one `"detection":{...}` member before its last `}`.
pub fn assert_spliced(record: &[u8], out: &[u8]) {
    let close = record
        .iter()
        .rposition(|&b| b == b'}')
        .expect("closing brace");
    let (head, tail) = record.split_at(close);
    assert!(out.len() > record.len());
    assert_eq!(
        &out[..head.len()],
        head,
        "bytes before the detection changed"
    );
    assert_eq!(
        &out[out.len() - tail.len()..],
        tail,
        "bytes after it changed"
    );
    let inserted = &out[head.len()..out.len() - tail.len()];
    let member = inserted.strip_prefix(b",").unwrap_or(inserted);
    let value = member
        .strip_prefix(b"\"detection\":")
        .expect("the inserted member is `detection`");
    let parsed: serde_json::Value = serde_json::from_slice(value).expect("detection is JSON");
    assert!(parsed.is_object());
}
