-- PostgreSQL anchor for Roost: copied unchanged (below this header) from the shared anchors,
-- /work/shared/anchors/pg/booking_verify.sql, 2026-11-25 (see Benchmarks/anchors/pg/README.md).
-- Booking anchor: the no-overlap check run after each booking run (must print 0).
-- must return 0: pairs of live bookings for the same listing whose stays overlap
SELECT count(*) AS overlapping_pairs
FROM bookings a
JOIN bookings b
  ON a.listing_id = b.listing_id
 AND a.id < b.id
 AND a.stay && b.stay
WHERE a.status <> 'canceled' AND b.status <> 'canceled';
