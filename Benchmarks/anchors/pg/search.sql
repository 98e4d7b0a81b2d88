-- PostgreSQL anchor for Roost: copied unchanged (below this header) from the shared anchors,
-- /work/shared/anchors/pg/search.sql, 2026-11-25 (see Benchmarks/anchors/pg/README.md).
-- pgbench script of the search anchor: one Roost-style search per transaction (scripts/bench-search-anchor.sh runs it, -M prepared).
-- search: city + price band + guests + amenities + free for [d1,d2), cheapest 20
-- (explicit ::int casts so that -M prepared can type the parameters)
\set c random(1, 50)
\set pmin random(30, 600)
\set g random(1, 6)
\set d random(0, 350)
\set n random(2, 7)
SELECT l.id, l.price
FROM listings l
WHERE l.city = 'city' || :c::int
  AND l.price BETWEEN :pmin::int AND :pmin::int + 300
  AND l.guests >= :g::int
  AND l.amenities @> ARRAY['wifi', 'kitchen']
  AND NOT EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.listing_id = l.id
          AND b.status <> 'canceled'
          AND b.stay && daterange(date '2027-01-01' + :d::int, date '2027-01-01' + :d::int + :n::int, '[)'))
ORDER BY l.price
LIMIT 20;
