-- PostgreSQL anchor for Roost: copied unchanged (below this header) from the shared anchors,
-- /work/shared/anchors/pg/search_schema.sql, 2026-11-25 (see Benchmarks/anchors/pg/README.md).
-- Schema + deterministic data of the search anchor (listings, ~20.8 bookings each, indexes); loaded by scripts/bench-search-anchor.sh.
-- Listings + bookings for the search baseline. Deterministic data (setseed).
-- Size: psql -v listings=N (default 100000); run_pg.sh passes SEARCH_LISTINGS.
\if :{?listings}
\else
  \set listings 100000
\endif
\timing on
CREATE EXTENSION IF NOT EXISTS btree_gist;
DROP TABLE IF EXISTS bookings;
DROP TABLE IF EXISTS listings;
SELECT setseed(0.42);

CREATE TABLE listings (
    id        int PRIMARY KEY,
    city      text   NOT NULL,
    lat       double precision NOT NULL,
    lng       double precision NOT NULL,
    price     int    NOT NULL,          -- per night, whole currency units 30..999
    guests    int    NOT NULL,          -- max guests 1..10
    amenities text[] NOT NULL
);

-- :listings listings over 50 cities (listings/50 each); each amenity present with its own probability
\echo step: listings
INSERT INTO listings
SELECT g,
       'city' || (1 + (g % 50)),
       40 + (g % 50) * 0.1 + random() * 0.2,
       -3 + (g % 50) * 0.1 + random() * 0.2,
       30 + floor(random() * 970)::int,
       1 + floor(random() * 10)::int,
       ARRAY(SELECT a FROM (VALUES ('wifi', 0.9), ('kitchen', 0.6), ('parking', 0.4), ('pool', 0.15),
                                   ('washer', 0.5), ('ac', 0.5), ('pets', 0.2), ('workspace', 0.3))
                          AS t(a, p)
             WHERE random() < p + 0 * g)          -- "+ 0*g" makes the subquery correlated (re-run per row)
FROM generate_series(1, :listings) AS g;

CREATE TABLE bookings (
    id          bigserial PRIMARY KEY,
    listing_id  int       NOT NULL,
    guest_id    int       NOT NULL,
    stay        daterange NOT NULL,
    status      text      NOT NULL DEFAULT 'confirmed'
);

-- ~40% of the 52 weekly slots per listing hold one 1-5 night stay that never crosses its slot,
-- so rows never overlap (~20.8 bookings per listing: ~2.1M at 100k listings, ~20.8M at 1M;
-- ~17% of nights booked); 5% of them canceled.
\echo step: bookings
INSERT INTO bookings (listing_id, guest_id, stay, status)
SELECT l.id,
       1 + floor(random() * 1000000)::int,
       daterange(date '2027-01-01' + s.k * 7 + s.off, date '2027-01-01' + s.k * 7 + s.off + s.nights, '[)'),
       CASE WHEN random() < 0.05 THEN 'canceled' ELSE 'confirmed' END
FROM listings l
CROSS JOIN LATERAL (
    SELECT k, floor(random() * 2)::int AS off, 1 + floor(random() * 5)::int AS nights, random() AS r
    FROM generate_series(0, 51) AS k
    WHERE l.id > 0
) s
WHERE s.r < 0.4;

\echo step: exclusion constraint (gist index on bookings)
ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap
    EXCLUDE USING gist (listing_id WITH =, stay WITH &&) WHERE (status <> 'canceled');

\echo step: listings indexes
CREATE INDEX listings_city_price ON listings (city, price);
CREATE INDEX listings_amenities ON listings USING gin (amenities);
\echo step: vacuum analyze
VACUUM ANALYZE listings;
VACUUM ANALYZE bookings;
CHECKPOINT;
