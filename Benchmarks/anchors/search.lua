-- wrk script: random searches shaped like the PostgreSQL anchor's (Benchmarks/anchors/pg/search.sql), one per request:
--   GET /v1/search/listings?location=city<1..50>&minPrice=<pmin*100>&maxPrice=<(pmin+300)*100>&guests=<1..6>
--       &amenities=kitchen,wifi&checkIn=<start+d>&checkOut=<start+d+n>&sort=price_asc&limit=20
-- with pmin 30..600 (whole units; Roost's prices are minor units), d 0..350, n 2..7, as the anchor draws them.
-- SEARCH_START (YYYY-MM-DD, default 2027-01-01) is the calendars' first day (roost-bench search --start).
-- Each thread has its own seed, so runs are repeatable. wrk itself counts non-2xx answers ("Non-2xx or 3xx responses").
-- Each thread draws its requests once, before the run (16,384 of them, then round again): drawing and formatting
-- one per request cost wrk some 5 µs of CPU a request on the two cores it shares with the server, where the
-- /health/live anchor's static request costs it nothing. The server keeps no result cache, so a query seen again
-- is searched again.

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

local requests = {}
local count = 16384
local next = 0

function init(args)
  math.randomseed(seed or 4242)
  for i = 1, count do
    local city = math.random(1, 50)
    local pmin = math.random(30, 600)
    local guests = math.random(1, 6)
    local day = math.random(0, 350)
    local nights = math.random(2, 7)
    local path = string.format(
      "/v1/search/listings?location=city%d&minPrice=%d&maxPrice=%d&guests=%d&amenities=kitchen,wifi&checkIn=%s&checkOut=%s&sort=price_asc&limit=20",
      city, pmin * 100, (pmin + 300) * 100, guests, dates[day], dates[day + nights])
    requests[i] = wrk.format("GET", path)
  end
end

function request()
  next = next % count + 1
  return requests[next]
end
