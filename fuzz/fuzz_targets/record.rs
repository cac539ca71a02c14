//! The record entry point, natively: arbitrary bytes (first byte even) or a batch
//! of structured CloudTrail events (first byte odd), through both modes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpnrecon_filter::RecordTime;
use vpnrecon_fuzz::{event, EnginePair};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut engines = EnginePair::default();
    if selector % 2 == 0 {
        engines.check(rest, RecordTime::default());
        // A second pass over the same record meets the state the first left.
        engines.check(
            rest,
            RecordTime {
                sec: 1_780_000_000,
                nsec: 0,
            },
        );
        return;
    }
    let Some(batch) = event::batch(rest) else {
        return;
    };
    let time = RecordTime {
        sec: batch.record_sec,
        nsec: 0,
    };
    for record in batch.records() {
        engines.check(&record, time);
    }
});
