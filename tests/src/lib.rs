//! Shared pieces of the end-to-end tests: fixtures and their hand-written expectations,
//! the input shapes derived from raw events, the filter opened through the host
//! crate's own API, and the check that a detection was spliced into an otherwise
//! untouched record.

pub mod expect;
pub mod fixtures;
pub mod hosts;
pub mod python;
pub mod shapes;
pub mod splice;
pub mod verify;

/// The host record time every test passes (2026-06-20T08:00:00Z); fixtures without a
/// usable `eventTime` expect detections at this time.
pub const RECORD_TIME_SEC: u32 = 1_781_942_400;
