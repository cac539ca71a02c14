//! The passthrough filter: the same exports as vpnrecon's module (`vpnrecon_annotate`,
//! `vpnrecon_alerts` with Fluent Bit's JSON signature, `malloc` and `free`), each entry
//! point returning the host's record pointer untouched.
//!
//! The host copies the record into linear memory NUL-terminated and frees it after it
//! has copied the result, so returning `record` hands back exactly the bytes it gave.
//! `vpnrecon bench` times this module next to the real one, on the same records and
//! host, so the difference is the filter's own work: the floor any wasm filter pays
//! inside Fluent Bit is the host's, not the module's.

/// Returns `record` as it came, for every record.
#[no_mangle]
pub extern "C" fn vpnrecon_annotate(
    _tag: *const u8,
    _tag_len: u32,
    _time_sec: u32,
    _time_nsec: u32,
    record: *const u8,
    _record_len: u32,
) -> *const u8 {
    record
}

/// Same as [`vpnrecon_annotate`]: the passthrough keeps every record in both modes, so
/// both entry points cost the same.
#[no_mangle]
pub extern "C" fn vpnrecon_alerts(
    _tag: *const u8,
    _tag_len: u32,
    _time_sec: u32,
    _time_nsec: u32,
    record: *const u8,
    _record_len: u32,
) -> *const u8 {
    record
}
