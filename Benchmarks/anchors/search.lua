-- wrk script: random searches shaped like the PostgreSQL anchor's (Benchmarks/anchors/pg/search.sql), one per request:
--   GET /v1/search/listings?location=city<1..50>&minPrice=<pmin*100>&maxPrice=<(pmin+300)*100>&guests=<1..6>
--       &amenities=kitchen,wifi&checkIn=<start+d>&checkOut=<start+d+n>&sort=price_asc&limit=20
-- with pmin 30..600 (whole units; Roost's prices are minor units), d 0..350, n 2..7, as the anchor draws them.
-- SEARCH_START (YYYY-MM-DD, default 2027-01-01) is the calendars' first day (roost-bench search --start).
-- Each thread has its own seed, so runs are repeatable. wrk itself counts non-2xx answers ("Non-2xx or 3xx responses").

local start = os.getenv("SEARCH_START") or "2027-01-01"
local y, m, d = start:match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
assert(y, "SEARCH_START must be YYYY-MM-DD")

-- Dates start + 0 … start + 357, formatted once (noon, so no DST edge moves a day).
local dates = {}
for i = 0, 357 do
  dates[i] = os.date("%Y-%m-%d", os.time({ year = tonumber(y), month = tonumber(m), day = tonumber(d) + i, hour = 12 }))
end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", 4242 + threads)
end

function init(args)
  math.randomseed(seed or 4242)
end

function request()
  local city = math.random(1, 50)
  local pmin = math.random(30, 600)
  local guests = math.random(1, 6)
  local day = math.random(0, 350)
  local nights = math.random(2, 7)
  local path = string.format(
    "/v1/search/listings?location=city%d&minPrice=%d&maxPrice=%d&guests=%d&amenities=kitchen,wifi&checkIn=%s&checkOut=%s&sort=price_asc&limit=20",
    city, pmin * 100, (pmin + 300) * 100, guests, dates[day], dates[day + nights])
  return wrk.format("GET", path)
end
