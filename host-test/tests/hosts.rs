//! The hosts hand records over and back exactly as Fluent Bit does, on every backend,
//! using a hand-written stand-in module (tests/passthrough.wat).

use vpnrecon_host::{
    open, Backend, CallError, CallOutcome, FilterHost, HostOptions, Mode, RecordTime,
};

fn module() -> Vec<u8> {
    wat::parse_str(include_str!("passthrough.wat")).expect("passthrough.wat is valid")
}

/// The wasm backends in this build.
fn wasm_backends() -> Vec<Backend> {
    [Backend::Wasmtime, Backend::Wamr]
        .into_iter()
        .filter(|b| b.available())
        .collect()
}

fn host(backend: Backend, entry: &str) -> Box<dyn FilterHost> {
    let mut opts = HostOptions::new(Mode::Annotate);
    opts.module = Some(module());
    opts.entry_override = Some(entry.into());
    opts.capture_stderr = true;
    open(backend, &opts).unwrap_or_else(|e| panic!("{backend}: {e:#}"))
}

const T: RecordTime = RecordTime {
    sec: 1_700_000_000,
    nsec: 5,
};

#[test]
fn records_come_back_byte_for_byte() {
    let big = format!("{{\"k\":\"{}\"}}", "x".repeat(300_000));
    let records: Vec<Vec<u8>> = vec![
        b"{}".to_vec(),
        br#"{"eventName":"ListUsers","a":[1,2,{"b":null}]}"#.to_vec(),
        "{\"name\":\"Zoë 😀 \\u0000 \\\"q\\\"\"}"
            .as_bytes()
            .to_vec(),
        big.into_bytes(),
        vec![0xff, 0xfe, b'{', b'}'], // not UTF-8: still handed over untouched
    ];
    for backend in wasm_backends() {
        let mut h = host(backend, "pass");
        let mut out = Vec::new();
        for record in &records {
            let got = h.call(b"cloudtrail", T, record, &mut out);
            assert_eq!(got, Ok(CallOutcome::Kept), "{backend}");
            assert!(
                out == *record,
                "{backend}: a {} byte record changed",
                record.len()
            );
        }
    }
}

#[test]
fn tag_is_handed_over_nul_terminated() {
    for backend in wasm_backends() {
        let mut h = host(backend, "echo_tag");
        let mut out = Vec::new();
        assert_eq!(
            h.call(b"aws.cloudtrail", T, b"{}", &mut out),
            Ok(CallOutcome::Kept)
        );
        assert_eq!(out, b"aws.cloudtrail", "{backend}");
    }
}

#[test]
fn time_is_passed_as_seconds_and_nanoseconds() {
    for backend in wasm_backends() {
        let mut h = host(backend, "check_time");
        let mut out = Vec::new();
        assert_eq!(
            h.call(b"t", T, b"{}", &mut out),
            Ok(CallOutcome::Kept),
            "{backend}"
        );
        let other = RecordTime {
            sec: 1_700_000_000,
            nsec: 6,
        };
        assert_eq!(
            h.call(b"t", other, b"{}", &mut out),
            Ok(CallOutcome::Dropped),
            "{backend}"
        );
    }
}

#[test]
fn empty_result_drops_the_record() {
    for backend in wasm_backends() {
        let mut h = host(backend, "drop_all");
        let mut out = b"stale".to_vec();
        assert_eq!(
            h.call(b"t", T, b"{\"a\":1}", &mut out),
            Ok(CallOutcome::Dropped),
            "{backend}"
        );
        assert!(out.is_empty(), "{backend}");
    }
}

#[test]
fn trap_is_an_error_and_the_next_record_still_runs() {
    for backend in wasm_backends() {
        let mut h = host(backend, "trap_on_x");
        let mut out = Vec::new();
        assert_eq!(
            h.call(b"t", T, b"{\"a\":1}", &mut out),
            Ok(CallOutcome::Kept)
        );
        match h.call(b"t", T, b"X-broken", &mut out) {
            Err(CallError::Trap(message)) => {
                assert!(message.contains("unreachable"), "{backend}: {message}")
            }
            other => panic!("{backend}: expected a trap, got {other:?}"),
        }
        assert_eq!(
            h.call(b"t", T, b"{\"b\":2}", &mut out),
            Ok(CallOutcome::Kept),
            "{backend}"
        );
        assert_eq!(out, b"{\"b\":2}");
    }
}

#[test]
fn wasmtime_replaces_a_trapped_instance_and_wamr_keeps_it_like_fluent_bit() {
    for backend in wasm_backends() {
        let mut h = host(backend, "trap_on_x");
        let mut out = Vec::new();
        let _ = h.call(b"t", T, b"X", &mut out);
        let expected = match backend {
            Backend::Wasmtime => 2,
            _ => 1,
        };
        assert_eq!(h.instantiations(), expected, "{backend}");
    }
}

#[test]
fn reinstantiate_every_starts_fresh_instances() {
    for backend in wasm_backends() {
        let mut opts = HostOptions::new(Mode::Annotate);
        opts.module = Some(module());
        opts.entry_override = Some("count".into());
        opts.reinstantiate_every = Some(2);
        let mut h = open(backend, &opts).expect("open");
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for _ in 0..5 {
            assert_eq!(h.call(b"t", T, b"{}", &mut out), Ok(CallOutcome::Kept));
            seen.push(String::from_utf8(out.clone()).expect("digit"));
        }
        // Each instance counts its own calls from 1.
        assert_eq!(seen, ["1", "2", "1", "2", "1"], "{backend}");
        assert_eq!(h.instantiations(), 3, "{backend}");
    }
}

#[test]
fn single_instance_keeps_counting() {
    for backend in wasm_backends() {
        let mut h = host(backend, "count");
        let mut out = Vec::new();
        for expected in ["1", "2", "3"] {
            h.call(b"t", T, b"{}", &mut out).expect("call");
            assert_eq!(out, expected.as_bytes(), "{backend}");
        }
    }
}

#[test]
fn a_string_without_nul_is_an_invalid_result() {
    for backend in wasm_backends() {
        let mut h = host(backend, "no_nul");
        let mut out = Vec::new();
        let got = h.call(b"t", T, b"{}", &mut out);
        assert!(
            matches!(got, Err(CallError::InvalidResult(_))),
            "{backend}: {got:?}"
        );
    }
}

#[test]
fn module_stderr_reaches_the_host() {
    for backend in wasm_backends() {
        let mut h = host(backend, "say");
        let mut out = Vec::new();
        h.call(b"t", T, b"{}", &mut out).expect("call");
        let stderr = String::from_utf8(h.take_stderr()).expect("utf-8");
        assert_eq!(stderr, "passthrough: hello on stderr\n", "{backend}");
    }
}

#[test]
fn info_is_read_from_the_module() {
    for backend in wasm_backends() {
        let mut h = host(backend, "pass");
        assert_eq!(
            h.info().expect("info"),
            "{\"module\":\"passthrough\"}",
            "{backend}"
        );
    }
}

#[test]
fn a_missing_entry_point_is_a_clear_error() {
    let mut opts = HostOptions::new(Mode::Annotate);
    opts.module = Some(module());
    opts.entry_override = Some("nope".into());
    let err = open(Backend::Wasmtime, &opts).err().expect("must fail");
    assert!(format!("{err:#}").contains("nope"), "{err:#}");
}
