"""Validates vpnrecon's OCSF findings (run by tests/tests/findings.rs).

Usage: check_findings.py FINDINGS.ndjson

Each line must be accepted by py-ocsf-models' DetectionFinding model (OCSF 1.5.0).
The model ignores fields it does not define (among them the evidences' actor and
src_endpoint), so the schema paths vpnrecon fills are also asserted one by one.
"""

import json
import sys

from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

REQUIRED_PATHS = [
    "class_uid",
    "category_uid",
    "activity_id",
    "type_uid",
    "severity_id",
    "time",
    "metadata.version",
    "metadata.product.name",
    "finding_info.uid",
    "finding_info.title",
    "finding_info.analytic.uid",
    "finding_info.analytic.name",
    "finding_info.analytic.type_id",
    "finding_info.attacks.0.tactic.uid",
    "finding_info.attacks.0.technique.uid",
    "finding_info.attacks.1.technique.uid",
    "evidences.0.actor.user.uid",
    "evidences.0.actor.user.name",
    "evidences.0.src_endpoint.ip",
    "evidences.0.src_endpoint.autonomous_system.number",
    "evidences.0.src_endpoint.autonomous_system.name",
    "evidences.0.api.operation",
    "evidences.0.api.service.name",
    "cloud.provider",
    "cloud.account.uid",
    "cloud.region",
    "raw_data",
]


def at(value, path):
    for key in path.split("."):
        if isinstance(value, list):
            index = int(key)
            if index >= len(value):
                return None
            value = value[index]
        elif isinstance(value, dict):
            if key not in value:
                return None
            value = value[key]
        else:
            return None
    return value


def main():
    if OCSF_VERSION != "1.5.0":
        raise SystemExit(f"py-ocsf-models implements OCSF {OCSF_VERSION}, expected 1.5.0")
    lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    sessions = 0
    for n, line in enumerate(lines, 1):
        finding = json.loads(line)
        model = DetectionFinding(**finding)
        if model.class_uid != 2004 or int(model.type_uid) != 200401:
            raise SystemExit(f"line {n}: not a Detection Finding: {model.class_uid}/{model.type_uid}")
        if model.metadata.version != "1.5.0":
            raise SystemExit(f"line {n}: metadata.version {model.metadata.version}")
        if model.finding_info.analytic is None or not model.finding_info.attacks:
            raise SystemExit(f"line {n}: the model lost finding_info.analytic or attacks")
        missing = [p for p in REQUIRED_PATHS if at(finding, p) is None]
        if missing:
            raise SystemExit(f"line {n}: missing {missing}")
        if at(finding, "evidences.0.actor.session.uid") is not None:
            sessions += 1
    print(f"OCSF: {len(lines)} findings valid as DetectionFinding {OCSF_VERSION}; every required path present ({sessions} with a session)")


if __name__ == "__main__":
    main()
