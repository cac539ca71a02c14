//! The replay summary counts detections from the output records themselves.

use vpnrecon_host::summary::Summary;

#[test]
fn detections_are_counted_per_rule_asn_and_identity() {
    let mut s = Summary::default();
    s.observe_output(br#"{"eventName":"ListUsers"}"#);
    s.observe_output(br#"{"a":1,"detection":{"rule":{"id":"r-a"},"source":{"as":{"number":9009,"organization":{"name":"M247"}}},"identity":{"key":"k1"}}}"#);
    s.observe_output(br#"{"Records":[],"detection":{"events":[{"index":0,"rule":{"id":"r-b"},"identity":{"key":"k2"}},{"index":3,"rule":{"id":"r-a"},"source":{"as":{"number":9009,"organization":{"name":"M247"}}},"identity":{"key":"k1"}}]}}"#);
    assert_eq!(s.detections(), 3);
    assert_eq!(s.detections_by_rule.get("r-a"), Some(&2));
    assert_eq!(s.detections_by_rule.get("r-b"), Some(&1));
    assert_eq!(s.asns.get("AS9009 M247"), Some(&2));
    assert_eq!(s.identities.get("k1"), Some(&2));
    assert_eq!(s.identities.get("k2"), Some(&1));
}
