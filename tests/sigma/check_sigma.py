"""Checks one export of vpnrecon's Sigma rules (run by tests/tests/rule_exports.rs).

Usage: check_sigma.py WORK_DIR

WORK_DIR holds rules/{ecs,cloudtrail}/*.yml (from `vpnrecon export-sigma`),
rows.json (every fixture event with its raw CloudTrail and ECS fields) and
expected.json (the module's candidates per rule id). The check:

1. `sigma check` accepts every rule;
2. every rule converts with the Elasticsearch Lucene and ES|QL backends and the
   Splunk backend;
3. the SQLite backend's query, run over a table of the rows, selects exactly the
   module's candidates of that rule, in both flavours.

SQLite has no REGEXP function of its own; the one registered here searches (Sigma's
`re` is not anchored). The backend writes a `cidr` list as LIKE prefixes of the
address text, which can only express addresses written as the backend writes
networks: rows whose raw sourceIPAddress is IPv4-mapped IPv6 or IPv6 not in its
canonical (RFC 5952) form are left out of the raw-CloudTrail comparison, and counted.
"""

import ipaddress
import json
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

from sigma.backends.elasticsearch import LuceneBackend
from sigma.backends.elasticsearch.elasticsearch_esql import ESQLBackend
from sigma.backends.splunk import SplunkBackend
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection

RULE_IDS = ["vpnrecon-discovery-vpn-new-identity", "vpnrecon-discovery-vpn-workload"]
FLAVOURS = ["ecs", "cloudtrail"]
# The namespace and names the exporter documents for its stable ids.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:vpnrecon:rule-export")
TABLE = "events"

# One LIKE term of the SQLite backend's output.
LIKE_TERM = r"`?[\w.]+`? LIKE '(?:[^']|'')*' ESCAPE '\\'"
LIKE_RUN = re.compile(rf"{LIKE_TERM}(?: OR {LIKE_TERM})+")
TERM = re.compile(LIKE_TERM)


def balanced(terms):
    """OR over terms as a balanced tree: SQLite limits expression depth to 1000,
    and a flat OR chain of a few thousand CIDR prefixes is that deep."""
    if len(terms) == 1:
        return terms[0]
    mid = len(terms) // 2
    return f"({balanced(terms[:mid])} OR {balanced(terms[mid:])})"


def rebalance(sql):
    return LIKE_RUN.sub(lambda m: balanced(TERM.findall(m.group(0))), sql)


def canonical_for_like(text):
    """Whether the SQLite backend's prefix patterns can express this address."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return True  # a service name: no pattern matches it, nor does the module
    if address.version == 4:
        return True
    if address.ipv4_mapped is not None:
        return False
    return str(address) == text


def sigma_cli(args):
    exe = Path(sys.executable).with_name("sigma")
    result = subprocess.run([str(exe), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"sigma {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def main():
    work = Path(sys.argv[1])
    rules_dir = work / "rules"
    rows = json.loads((work / "rows.json").read_text())
    expected = json.loads((work / "expected.json").read_text())

    excluded = []
    try:
        from sigma.data import mitre_attack, mitre_d3fend

        mitre_attack.mitre_attack_version
        mitre_d3fend.mitre_d3fend_version
    except RuntimeError as e:
        # The tag validators download ATT&CK and D3FEND from GitHub on first use.
        excluded = ["-x", "attacktag", "-x", "d3_fendtag"]
        print(f"SKIPPED sigma check's ATT&CK and D3FEND tag validators: {e}")
    # Account ids are 12-digit identifiers that may start with 0: they stay strings,
    # which the number_as_string validator would have written as numbers.
    excluded += ["-x", "number_as_string"]
    # One flavour at a time: a SIEM takes one, and both use the same file names.
    for flavour in FLAVOURS:
        out = sigma_cli(["check", "--fail-on-issues", *excluded, str(rules_dir / flavour)])
        if "Found 0 errors, 0 condition errors and 0 issues" not in out:
            raise SystemExit(f"sigma check reported problems:\n{out}")
        print(f"sigma check {flavour}: {len(list((rules_dir / flavour).glob('*.yml')))} rules, no errors or issues")

    for flavour in FLAVOURS:
        for rule_id in RULE_IDS:
            path = rules_dir / flavour / f"{rule_id}.yml"
            collection = SigmaCollection.from_yaml(path.read_text())
            rule = collection.rules[0]
            want_id = uuid.uuid5(ID_NAMESPACE, f"{rule_id}/{flavour}")
            if rule.id != want_id:
                raise SystemExit(f"{path}: id {rule.id}, expected uuid5 {want_id}")
            tags = {str(t) for t in rule.tags}
            if not {"attack.discovery", "attack.t1526", "attack.t1580"} <= tags:
                raise SystemExit(f"{path}: MITRE tags missing: {tags}")
            for name, backend in [
                ("lucene", LuceneBackend()),
                ("esql", ESQLBackend()),
                ("splunk", SplunkBackend()),
            ]:
                queries = backend.convert(SigmaCollection.from_yaml(path.read_text()))
                if not queries or not all(queries):
                    raise SystemExit(f"{path}: {name} conversion gave no query")
            check_sqlite(path, flavour, rule_id, rows, expected[rule_id])


def check_sqlite(path, flavour, rule_id, rows, want):
    [sql] = sqliteBackend().convert(SigmaCollection.from_yaml(path.read_text()))
    sql = rebalance(sql.replace("<TABLE_NAME>", TABLE))
    columns = sorted({c for row in rows for c in row[flavour]} | {"id"})
    db = sqlite3.connect(":memory:")
    db.create_function(
        "REGEXP", 2, lambda pattern, value: value is not None and re.search(pattern, str(value)) is not None
    )
    db.execute(f"CREATE TABLE {TABLE} ({', '.join(f'`{c}`' for c in columns)})")
    left_out = set()
    for row in rows:
        fields = dict(row[flavour])
        fields["id"] = row["id"]
        if flavour == "cloudtrail" and not canonical_for_like(fields.get("sourceIPAddress", "")):
            left_out.add(row["id"])
        names = list(fields)
        db.execute(
            f"INSERT INTO {TABLE} ({', '.join(f'`{n}`' for n in names)}) VALUES ({', '.join('?' for _ in names)})",
            [fields[n] for n in names],
        )
    got = {r[0] for r in db.execute(sql.replace("SELECT *", "SELECT `id`", 1))} - left_out
    want = set(want) - left_out
    if got != want:
        raise SystemExit(
            f"{path}: SQLite selects {len(got)} events, the module has {len(want)} candidates\n"
            f"  only Sigma:  {sorted(got - want)}\n  only module: {sorted(want - got)}"
        )
    print(
        f"{flavour}/{rule_id}: SQLite query selects exactly the module's {len(want)} candidates "
        f"of {len(rows) - len(left_out)} events ({len(left_out)} left out: addresses LIKE prefixes cannot express)"
    )


if __name__ == "__main__":
    main()
