-- PostgreSQL anchor for Roost: copied unchanged (below this header) from the shared anchors,
-- /work/shared/anchors/pg/booking_high.sql, 2026-11-25 (see Benchmarks/anchors/pg/README.md).
-- Booking anchor, pgbench script: high contention (10 listings).
-- high contention: 10 listings, 1-7 night stays starting inside a 365-day window
\set lst random(1, 10)
\set guest random(1, 1000000)
\set nights random(1, 7)
\set start random(0, 364 - :nights)
SELECT try_book(:lst, :guest, date '2027-01-01' + :start, :nights);
