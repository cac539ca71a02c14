//! The prefilter's soundness: no record it turns away holds a candidate. First byte
//! even: the rest as raw bytes. Odd: a structured batch of CloudTrail events in
//! every envelope, each record also respelled with escaped letters in keys and
//! values (bits from the input), so that both spellings must be judged alike.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpnrecon_filter::RecordTime;
use vpnrecon_fuzz::{event, respell, PrefilterPair};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        PrefilterPair::default().check(rest, RecordTime::default());
        return;
    }
    let Some(batch) = event::batch(rest) else {
        return;
    };
    let time = RecordTime {
        sec: batch.record_sec,
        nsec: 0,
    };
    let (mut plain, mut respelled) = (PrefilterPair::default(), PrefilterPair::default());
    for record in batch.records() {
        plain.check(&record, time);
        respelled.check(&respell(&record, rest), time);
    }
    assert_eq!(
        plain.counts(),
        respelled.counts(),
        "a respelling changed the verdict"
    );
});
