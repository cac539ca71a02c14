//! The passthrough module that `vpnrecon bench` measures the filter against
//! (`host-test/passthrough`): built like the filter, it must hand every record back
//! byte for byte from both entry points, under wasmtime and (with the `wamr` feature)
//! WAMR at Fluent Bit's default 8 KiB stack and heap.

use std::path::Path;
use vpnrecon_host::bench::passthrough_module;
use vpnrecon_host::generate::Generator;
use vpnrecon_host::{open, Backend, CallOutcome, HostOptions, Mode, RecordTime};

fn backends() -> Vec<Backend> {
    let all = [Backend::Wasmtime, Backend::Wamr];
    for backend in all {
        if !backend.available() {
            eprintln!("skipped: {backend} is not in this build (cargo feature `wamr`)");
        }
    }
    all.into_iter().filter(|b| b.available()).collect()
}

/// Records of every kind a host may hand over: fixture CloudTrail events, generated
/// ones, odd bytes and one far larger than any event.
fn records() -> Vec<Vec<u8>> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut records: Vec<Vec<u8>> = Vec::new();
    for name in ["benign.ndjson", "attack_chain.ndjson"] {
        let text = std::fs::read(fixtures.join(name)).expect("fixture file");
        records.extend(
            text.split(|&b| b == b'\n')
                .filter(|line| !line.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    assert!(records.len() > 100, "fixtures are missing");
    let mut generator = Generator::new(1, 0.0, &[]);
    records.extend((0..200).map(|_| generator.event().json.into_bytes()));
    records.push(b"{}".to_vec());
    records.push("{\"log\":\"Zoë 😀 \\u0022q\\u0022\"}".as_bytes().to_vec());
    records.push(vec![0xff, 0xfe, b'{', b'}']);
    records.push(format!("{{\"k\":\"{}\"}}", "y".repeat(200_000)).into_bytes());
    records
}

#[test]
fn passthrough_returns_every_record_byte_for_byte() {
    let records = records();
    for backend in backends() {
        for mode in [Mode::Annotate, Mode::Alerts] {
            let mut opts = HostOptions::new(mode);
            opts.module = Some(passthrough_module().to_vec());
            let mut host =
                open(backend, &opts).unwrap_or_else(|e| panic!("{backend} {mode:?}: {e:#}"));
            let mut out = Vec::new();
            for (i, record) in records.iter().enumerate() {
                let time = RecordTime {
                    sec: 1_780_000_000 + i as u32,
                    nsec: 7,
                };
                let outcome = host.call(b"aws.cloudtrail", time, record, &mut out);
                assert_eq!(
                    outcome,
                    Ok(CallOutcome::Kept),
                    "{backend} {mode:?} record {i}"
                );
                assert!(
                    out == *record,
                    "{backend} {mode:?}: record {i} ({} bytes) came back changed",
                    record.len()
                );
            }
        }
    }
}

#[test]
fn passthrough_costs_almost_nothing_per_record() {
    // The floor is only a floor if the module itself does next to no work: a call
    // is a handful of instructions whatever the record's size.
    let mut opts = HostOptions::new(Mode::Annotate);
    opts.module = Some(passthrough_module().to_vec());
    opts.fuel = true;
    let mut host = open(Backend::Wasmtime, &opts).expect("wasmtime host");
    let mut out = Vec::new();
    for record in records() {
        host.call(b"t", RecordTime::default(), &record, &mut out)
            .expect("kept");
        let fuel = host.last_fuel().expect("fuel is metered");
        assert!(fuel < 100, "{fuel} fuel for a {} byte record", record.len());
    }
}
