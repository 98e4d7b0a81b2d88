#!/usr/bin/env python3
"""Check the invariants of the shipped files in data/.

  python3 data/tools/validate_data.py

Checks: every JSON file parses; amenity codes are unique snake_case with a
known category and aliases unique (case-insensitively) across the catalogue;
currency codes/numeric codes are unique, sorted, with exponents in {0,2,3,4};
every fx rate is a positive decimal string for a currency in currencies.json;
the Inside Airbnb copies match their sha256; the demo CSVs parse, have the
source headers, the row counts stated in data/demo/README.md, at most 20
reviews per listing, and only rows of the demo listings.
Only reads inside the data/ directory that contains this script.
Prints "N passed, 0 failed" and exits 0 when everything holds.
"""
import csv
import gzip
import hashlib
import json
import os
import re
import sys
from decimal import Decimal, InvalidOperation

DATA = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATEGORIES = {"essentials", "features", "location", "safety", "accessibility",
              "family", "parking", "services"}
SHA256 = {
    "listings.csv.gz": "17a0b6f8f27e3f884461125b8f7da803cc656a49e8f25d9d70124b795464084f",
    "calendar.csv.gz": "f55cc46e070db31cab129bc8284be6cdd91bb7f196698145a92a18fa17400a27",
    "reviews.csv.gz": "46bb313037308bd017191f420392f69a1e9fc9af502272cc8b4c5391f38b90eb",
}
csv.field_size_limit(1 << 30)

results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond)))
    if not cond:
        print(f"FAIL {name} {detail}", file=sys.stderr)


def path(*p):
    return os.path.join(DATA, *p)


def load_json(rel):
    try:
        with open(path(rel), encoding="utf-8") as f:
            doc = json.load(f)
        check(f"{rel} parses", True)
        return doc
    except (OSError, ValueError) as e:
        check(f"{rel} parses", False, str(e))
        return None


def read_csv(p):
    with gzip.open(p, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def main():
    am = load_json("amenities.json")
    if am is not None:
        codes = [a["code"] for a in am]
        check("amenity codes unique", len(codes) == len(set(codes)))
        check("amenity codes snake_case", all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in codes))
        check("amenity categories known", all(a["category"] in CATEGORIES for a in am))
        check("amenity keys", all(set(a) == {"code", "name", "category", "aliases"} for a in am))
        aliases = [s.casefold() for a in am for s in a["aliases"]]
        check("amenity aliases unique (case-insensitive)", len(aliases) == len(set(aliases)))
        check("amenity count 60-90", 60 <= len(am) <= 90, len(am))

    cur = load_json("currencies.json")
    known = set()
    if cur is not None:
        cs = cur["currencies"]
        known = {c["code"] for c in cs}
        check("currency codes unique", len(known) == len(cs))
        check("currency numeric unique", len({c["numeric"] for c in cs}) == len(cs))
        check("currencies sorted", [c["code"] for c in cs] == sorted(known))
        check("currency code format", all(re.fullmatch(r"[A-Z]{3}", c["code"]) for c in cs))
        check("currency exponents", all(c["exponent"] in (0, 2, 3, 4) for c in cs))
        check("currency asOf", re.fullmatch(r"\d{4}-\d{2}-\d{2}", cur["asOf"]))
        byc = {c["code"]: c["exponent"] for c in cs}
        expected = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3,
                    "LYD": 3, "IQD": 3, "CLF": 4, "UYW": 4, "CLP": 0, "ISK": 0, "VND": 0,
                    "UGX": 0, "XAF": 0, "XOF": 0, "XPF": 0, "PYG": 0, "RWF": 0, "KMF": 0,
                    "GNF": 0, "DJF": 0, "BIF": 0, "VUV": 0, "SGD": 2, "USD": 2, "EUR": 2}
        check("known exponents", all(byc.get(k) == v for k, v in expected.items()))
        check("no N.A./withdrawn codes", not (known & {"XAU", "XAG", "XPT", "XPD", "XTS", "XXX",
                                                         "XDR", "HRK", "SLL", "ZWL", "ANG", "CUC"}))

    fx = load_json("fx-rates.json")
    if fx is not None:
        check("fx base USD", fx["base"] == "USD" and fx["rates"].get("USD") in (None, "1", "1.0000"))
        check("fx date", re.fullmatch(r"\d{4}-\d{2}-\d{2}", fx["date"]))
        check("fx currencies known", set(fx["rates"]) <= known, set(fx["rates"]) - known)
        ok = True
        for v in fx["rates"].values():
            try:
                ok &= isinstance(v, str) and Decimal(v) > 0
            except InvalidOperation:
                ok = False
        check("fx rates positive decimal strings", ok)
        check("fx required", {"SGD", "THB", "IDR", "MYR", "PHP", "VND", "JPY", "KRW", "BHD",
                              "KWD", "EUR", "GBP"} <= set(fx["rates"]))

    taxes = load_json("taxes.json")
    if taxes is not None:
        check("taxes date", re.fullmatch(r"\d{4}-\d{2}-\d{2}", taxes["date"]))
        rates = list(taxes["countries"].values()) + [taxes["defaultBasisPoints"]]
        check("tax rates are basis points 0..10000", all(isinstance(r, int) and 0 <= r <= 10_000 for r in rates))
        check("taxes sorted by country", list(taxes["countries"]) == sorted(taxes["countries"]))
        check("taxes cover Singapore (the shipped data set)", "Singapore" in taxes["countries"])

    for name, digest in SHA256.items():
        p = path("insideairbnb", "singapore", name)
        h = hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.exists(p) else None
        check(f"sha256 {name}", h == digest)

    readme = open(path("demo", "README.md"), encoding="utf-8").read()
    stated = dict(re.findall(r"\| `(\w+)\.csv\.gz` \| (\d+) \|", readme))
    headers = {}
    rows = {}
    for name in ("listings", "calendar", "reviews"):
        src_header = gzip.open(path("insideairbnb", "singapore", name + ".csv.gz"), "rt",
                               encoding="utf-8", newline="").readline()
        header, data = read_csv(path("demo", name + ".csv.gz"))
        headers[name], rows[name] = header, data
        check(f"demo {name} header", ",".join(header) + "\n" == src_header)
        check(f"demo {name} field counts", all(len(r) == len(header) for r in data))
        check(f"demo {name} count matches README", str(len(data)) == stated.get(name),
              f"{len(data)} vs {stated.get(name)}")
    ids = {r[0] for r in rows["listings"]}
    check("demo 40 listings", len(ids) == len(rows["listings"]) == 40)
    check("demo calendar only demo ids", {r[0] for r in rows["calendar"]} == ids)
    per = {}
    for r in rows["reviews"]:
        per[r[0]] = per.get(r[0], 0) + 1
    check("demo reviews only demo ids", set(per) <= ids)
    check("demo <= 20 reviews per listing", all(v <= 20 for v in per.values()))
    for lid in ids:
        if f"`{lid}`" not in readme:
            check("demo ids listed in README", False, lid)
            break
    else:
        check("demo ids listed in README", True)

    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
