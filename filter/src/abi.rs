//! The host ABI: the only `unsafe` in the crate.
//!
//! Fluent Bit's `wasm` filter (JSON event format) calls an exported function with
//! `(tag, tag_len, time_sec, time_nsec, record, record_len)` and copies the
//! NUL-terminated string the function returns before doing anything else. The host
//! owns `tag` and `record` (it allocated them through our exported `malloc` and frees
//! them after the call), so returning `record` itself is valid: that is the zero-copy
//! path every record without a detection takes.
//!
//! A trap inside this call drops the record in Fluent Bit, so nothing here may panic:
//! the engine is reached through `try_borrow_mut` and every failure degrades to
//! "pass the record through".

use crate::{Engine, Mode, RecordTime, Verdict};
use std::cell::RefCell;

/// The empty string: returning it makes Fluent Bit skip (drop) the record.
static EMPTY: [u8; 1] = [0];

/// Output buffers above this size are released after use, so one huge record
/// does not pin its size in linear memory for the life of the instance.
const RETAINED_OUTPUT_BYTES: usize = 256 * 1024;

thread_local! {
    // Created on the first call, not at instantiation: Fluent Bit instantiates the
    // module before any record exists, and a lazy start keeps that step cheap.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static INFO: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Annotate mode: every record passes; a record with a detection gets `detection`.
///
/// # Safety
/// `record` must point to `record_len` readable bytes (the host guarantees it).
#[no_mangle]
pub unsafe extern "C" fn vpnrecon_annotate(
    _tag: *const u8,
    _tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    // SAFETY: forwarded contract of this function.
    unsafe { entry(Mode::Annotate, time_sec, time_nsec, record, record_len) }
}

/// Alerts mode: only records with a detection pass; all others are dropped.
///
/// # Safety
/// `record` must point to `record_len` readable bytes (the host guarantees it).
#[no_mangle]
pub unsafe extern "C" fn vpnrecon_alerts(
    _tag: *const u8,
    _tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    // SAFETY: forwarded contract of this function.
    unsafe { entry(Mode::Alerts, time_sec, time_nsec, record, record_len) }
}

/// Findings mode: a record with a detection is replaced by an OCSF 1.5.0 Detection
/// Finding (one per record; see `findings`); all others are dropped.
///
/// # Safety
/// `record` must point to `record_len` readable bytes (the host guarantees it).
#[no_mangle]
pub unsafe extern "C" fn vpnrecon_findings(
    _tag: *const u8,
    _tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    // SAFETY: forwarded contract of this function.
    unsafe { entry(Mode::Findings, time_sec, time_nsec, record, record_len) }
}

/// Version, rules, data provenance, configuration and counters as a JSON object.
#[no_mangle]
pub extern "C" fn vpnrecon_info() -> *const u8 {
    let json = with_engine(|engine| engine.info_json())
        .unwrap_or_else(|| String::from("{\"error\":\"vpnrecon engine busy or unavailable\"}"));
    INFO.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            buf.extend_from_slice(json.as_bytes());
            buf.push(0);
            buf.as_ptr()
        }
        Err(_) => EMPTY.as_ptr(),
    })
}

unsafe fn entry(
    mode: Mode,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    let passthrough = match mode {
        Mode::Annotate => record,
        Mode::Alerts | Mode::Findings => EMPTY.as_ptr(),
    };
    if record.is_null() {
        return passthrough;
    }
    // SAFETY: the host copied `record_len` bytes (plus a NUL) to `record`.
    let bytes = unsafe { std::slice::from_raw_parts(record, record_len as usize) };
    let time = RecordTime {
        sec: time_sec,
        nsec: time_nsec,
    };
    OUTPUT
        .with(|cell| {
            let mut out = cell.try_borrow_mut().ok()?;
            if out.capacity() > RETAINED_OUTPUT_BYTES {
                *out = Vec::new();
            }
            out.clear();
            let verdict = with_engine(|engine| engine.process(bytes, time, mode, &mut out))?;
            Some(match verdict {
                Verdict::Unchanged => record,
                Verdict::Drop => EMPTY.as_ptr(),
                Verdict::Rewritten => {
                    out.push(0);
                    out.as_ptr()
                }
            })
        })
        .unwrap_or(passthrough)
}

/// Runs `f` on the instance's engine, creating it on first use. `None` only if the
/// engine is already borrowed (re-entrancy, which the host never does).
fn with_engine<T>(f: impl FnOnce(&mut Engine) -> T) -> Option<T> {
    ENGINE.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        let engine = slot.get_or_insert_with(Engine::new);
        Some(f(engine))
    })
}
