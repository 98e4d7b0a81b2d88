-- PostgreSQL anchor for Roost: copied unchanged (below this header) from the shared anchors,
-- /work/shared/anchors/pg/booking_schema.sql, 2026-11-25 (see Benchmarks/anchors/pg/README.md).
-- Booking anchor (later bookings issue): bookings table with the no-overlap exclusion constraint and try_book().
-- Booking table with a no-double-booking exclusion constraint (PostgreSQL 15, needs btree_gist).
CREATE EXTENSION IF NOT EXISTS btree_gist;
DROP TABLE IF EXISTS bookings;
CREATE TABLE bookings (
    id          bigserial PRIMARY KEY,
    listing_id  int       NOT NULL,
    guest_id    int       NOT NULL,
    stay        daterange NOT NULL,
    status      text      NOT NULL DEFAULT 'confirmed',
    EXCLUDE USING gist (listing_id WITH =, stay WITH &&) WHERE (status <> 'canceled')
);

-- INSERT ... ON CONFLICT DO NOTHING does not work with exclusion constraints,
-- so catch exclusion_violation (SQLSTATE 23P01) and return false instead.
-- (The EXCEPTION block costs a subtransaction per call.)
CREATE OR REPLACE FUNCTION try_book(p_listing int, p_guest int, p_from date, p_nights int)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bookings (listing_id, guest_id, stay, status)
    VALUES (p_listing, p_guest, daterange(p_from, p_from + p_nights, '[)'), 'confirmed');
    RETURN true;
EXCEPTION WHEN exclusion_violation THEN
    RETURN false;
END $$;
