#!/usr/bin/env python3
"""Draws the fixed random sample of source rows used by tests/source_sample.rs.

Usage: python3 asn_data/tests/data/make_samples.py DIR
where DIR holds asn-ipv4-num.csv and asn-ipv6-num.csv of the ip-location-db package
the baked table was built from. For each family it picks SAMPLED rows at random (fixed
seed) and writes each picked row together with the rows just before and after it in the
source, so the test knows each picked row's neighbours: what the address after a range
belongs to, and which neighbour overlaps it. Each output line is the source line number,
a comma, and the source line unchanged.
"""
import random
import sys

SEED = 20260617
SAMPLED = 1500


def sample(src, dst, rng):
    with open(src, encoding="utf-8") as f:
        lines = f.read().splitlines()
    picked = rng.sample(range(len(lines)), SAMPLED)
    keep = sorted({j for i in picked for j in (i - 1, i, i + 1) if 0 <= j < len(lines)})
    with open(dst, "w", encoding="utf-8", newline="\n") as out:
        for j in keep:
            out.write(f"{j + 1},{lines[j]}\n")


def main():
    src = sys.argv[1]
    here = sys.path[0]
    rng = random.Random(SEED)
    for family in ("ipv4", "ipv6"):
        sample(f"{src}/asn-{family}-num.csv", f"{here}/sample-{family}.csv", rng)


if __name__ == "__main__":
    main()
