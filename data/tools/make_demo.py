#!/usr/bin/env python3
"""Regenerate data/demo/ from data/insideairbnb/singapore/.

Derivation (deterministic):
  * listings: the DEMO_SIZE listings with the most reviews (`number_of_reviews`
    desc, then numeric `id` asc) among those whose listing-level
    `minimum_nights` <= MAX_MIN_NIGHTS. If fewer qualify, the rest are filled
    with the smallest `minimum_nights` (then most reviews, then id).
  * calendar: every calendar row of the chosen listings.
  * reviews: for each chosen listing, its newest MAX_REVIEWS reviews
    (`date` desc, then numeric review `id` desc).

Rows are copied byte-for-byte from the source CSV records (same header, same
RFC 4180 quoting, same embedded CR/LF), in source-file order. The outputs are
gzip files with mtime=0 and no embedded file name, so reruns are
byte-identical (for a given zlib build). data/demo/README.md is regenerated
as well.

Usage:
  python3 data/tools/make_demo.py          # write data/demo/
  python3 data/tools/make_demo.py --check  # verify data/demo/ is up to date

Only reads and writes inside the data/ directory that contains this script.
"""
import csv
import gzip
import io
import os
import sys

DEMO_SIZE = 40
MAX_MIN_NIGHTS = 3
MAX_REVIEWS = 20

DATA = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(DATA, "insideairbnb", "singapore")
DST = os.path.join(DATA, "demo")

csv.field_size_limit(1 << 30)


def raw_records(path):
    """Yield (raw_text, fields) for each CSV record of a gzip CSV file.

    raw_text is the exact record text including its trailing '\\n'. A record
    ends at a '\\n' outside quotes (CR and LF inside quoted fields are data).
    Each raw record is re-parsed with the csv module, so the fields are what a
    conforming RFC 4180 parser reads.
    """
    with gzip.open(path, "rb") as f:
        text = f.read().decode("utf-8")
    if not text.endswith("\n"):
        raise ValueError(f"{path}: missing final newline")
    pending = []
    quotes = 0
    for piece in text[:-1].split("\n"):
        pending.append(piece)
        quotes += piece.count('"')
        if quotes % 2 == 0:  # the '\n' after this piece is outside quotes
            raw = "\n".join(pending) + "\n"
            rows = list(csv.reader(io.StringIO(raw, newline="")))
            if len(rows) != 1:
                raise ValueError(f"{path}: bad record {raw[:80]!r}")
            yield raw, rows[0]
            pending = []
            quotes = 0
    if pending:
        raise ValueError(f"{path}: unterminated quoted field at end of file")


def load(name):
    recs = raw_records(os.path.join(SRC, name + ".csv.gz"))
    header_raw, header = next(recs)
    rows = []
    for raw, fields in recs:
        if len(fields) != len(header):
            raise ValueError(f"{name}: record with {len(fields)} fields, header has {len(header)}")
        rows.append((raw, dict(zip(header, fields))))
    return header_raw, header, rows


def select_listings(listings):
    def reviews(r):
        return int(r["number_of_reviews"])

    eligible = [r for _, r in listings if int(r["minimum_nights"]) <= MAX_MIN_NIGHTS]
    others = [r for _, r in listings if int(r["minimum_nights"]) > MAX_MIN_NIGHTS]
    eligible.sort(key=lambda r: (-reviews(r), int(r["id"])))
    others.sort(key=lambda r: (int(r["minimum_nights"]), -reviews(r), int(r["id"])))
    chosen = (eligible + others)[:DEMO_SIZE]
    return chosen, len(eligible)


def gzip_bytes(text):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buf.getvalue()


def build():
    l_head, _, listings = load("listings")
    c_head, _, calendar = load("calendar")
    r_head, _, reviews = load("reviews")

    chosen, n_eligible = select_listings(listings)
    chosen_ids = {r["id"] for r in chosen}

    out_listings = [raw for raw, r in listings if r["id"] in chosen_ids]
    out_calendar = [raw for raw, r in calendar if r["listing_id"] in chosen_ids]

    by_listing = {}
    for idx, (raw, r) in enumerate(reviews):
        if r["listing_id"] in chosen_ids:
            by_listing.setdefault(r["listing_id"], []).append((r["date"], int(r["id"]), idx))
    keep = set()
    for lid, revs in by_listing.items():
        revs.sort(reverse=True)  # newest date first, then highest review id
        keep.update(idx for _, _, idx in revs[:MAX_REVIEWS])
    out_reviews = [raw for idx, (raw, _) in enumerate(reviews) if idx in keep]

    files = {
        "listings.csv.gz": gzip_bytes(l_head + "".join(out_listings)),
        "calendar.csv.gz": gzip_bytes(c_head + "".join(out_calendar)),
        "reviews.csv.gz": gzip_bytes(r_head + "".join(out_reviews)),
    }
    per_listing = {lid: min(len(v), MAX_REVIEWS) for lid, v in by_listing.items()}
    cal_counts = {}
    for _, r in calendar:
        if r["listing_id"] in chosen_ids:
            cal_counts[r["listing_id"]] = cal_counts.get(r["listing_id"], 0) + 1
    stats = {
        "eligible": n_eligible,
        "listings": len(out_listings),
        "calendar": len(out_calendar),
        "reviews": len(out_reviews),
        "chosen": chosen,
        "per_listing": per_listing,
        "cal_counts": cal_counts,
    }
    files["README.md"] = readme(stats).encode("utf-8")
    return files, stats


def readme(s):
    lines = []
    a = lines.append
    a("# Demo dataset (derived from Inside Airbnb Singapore)")
    a("")
    a("Small, deterministic subset of the Inside Airbnb Singapore data for `make run`,")
    a("local demos and tests. Generated by `data/tools/make_demo.py` from")
    a("`data/insideairbnb/singapore/`; do not edit by hand, rerun the script")
    a("(`python3 data/tools/make_demo.py --check` verifies it is up to date).")
    a("")
    a("## Attribution and licence")
    a("")
    a("This is a derived work (a filtered subset; records are otherwise unchanged) of:")
    a("")
    a("> Data from Inside Airbnb (http://insideairbnb.com), Singapore, compiled")
    a("> 23 September 2023, licensed under CC BY 4.0")
    a("> (https://creativecommons.org/licenses/by/4.0/).")
    a("")
    a("Changes made: rows were selected as described below; no field was modified.")
    a("The subset is distributed under the same licence, CC BY 4.0.")
    a("")
    a("## Files")
    a("")
    a("| file | data rows | columns |")
    a("| --- | ---: | ---: |")
    a(f"| `listings.csv.gz` | {s['listings']} | 75 |")
    a(f"| `calendar.csv.gz` | {s['calendar']} | 7 |")
    a(f"| `reviews.csv.gz` | {s['reviews']} | 6 |")
    a("")
    a("Same format as the originals (see `data/insideairbnb/README.md`): UTF-8, one")
    a("header row identical to the source, RFC 4180 quoting, `\\n` record")
    a("terminator, embedded CR/LF inside quoted fields. Each data row is byte-for-byte")
    a("the source record, in source-file order. Row counts are CSV records, not lines;")
    a("use a real CSV parser. The gzip files have mtime 0 and no stored file name.")
    a("")
    a("## Selection")
    a("")
    a(f"1. Listings: the {DEMO_SIZE} listings with the most reviews (`number_of_reviews`")
    a(f"   descending, ties by numeric `id` ascending) among the {s['eligible']} listings")
    a(f"   whose `minimum_nights` <= {MAX_MIN_NIGHTS}.")
    a("2. Calendar: every calendar row of those listings (365 days,")
    a("   2023-09-23 to 2024-09-21).")
    a(f"3. Reviews: for each listing, its newest {MAX_REVIEWS} reviews (`date` descending,")
    a("   ties by numeric review `id` descending).")
    a("")
    a("Note: `listings.number_of_reviews` (and the other review columns) keep the")
    a("values of the full scrape, so in this subset `sum(number_of_reviews)` is larger")
    a("than the number of review rows. Every `calendar.listing_id` and")
    a("`reviews.listing_id` is a listing `id` in this subset.")
    a("")
    a("## Listing ids chosen")
    a("")
    a("In selection order:")
    a("")
    a("| # | id | number_of_reviews | reviews kept | calendar rows | minimum_nights | room_type |")
    a("| ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for i, r in enumerate(s["chosen"], 1):
        a(f"| {i} | `{r['id']}` | {r['number_of_reviews']} | {s['per_listing'].get(r['id'], 0)}"
          f" | {s['cal_counts'].get(r['id'], 0)} | {r['minimum_nights']} | {r['room_type']} |")
    a("")
    return "\n".join(lines)


def main(argv):
    check = "--check" in argv[1:]
    files, stats = build()
    if check:
        stale = []
        for name, data in files.items():
            path = os.path.join(DST, name)
            if not os.path.exists(path) or open(path, "rb").read() != data:
                stale.append(name)
        if stale:
            print("data/demo is out of date: " + ", ".join(stale), file=sys.stderr)
            return 1
        print("data/demo is up to date")
        return 0
    os.makedirs(DST, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(DST, name), "wb") as f:
            f.write(data)
    print(f"wrote {DST}: {stats['listings']} listings, {stats['calendar']} calendar rows, "
          f"{stats['reviews']} reviews")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
