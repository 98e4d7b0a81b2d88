-- wrk script: random bookings over HTTP, shaped like the PostgreSQL booking anchor's low-contention job
-- (Benchmarks/anchors/pg/booking*.sql: a random listing of 100,000, a random 1–4 night stay in the year):
--   POST /v1/bookings {listingId, checkIn: start+d, checkOut: start+d+n, guests: 1, paymentMethod: "pm_card_visa"}
-- with n 1..7 and d 0..364-n (the anchor's booking_low.sql), as the signed-in guest BOOK_TOKEN. BOOK_IDS is a file of listing ids, one per line
-- (roost-bench search --ids-file --free-calendars: nothing taken, as the anchor starts); BOOK_START (YYYY-MM-DD) the calendars' first day. A 201 is a booking, a 409
-- (dates_unavailable) a refusal; both are answers, as the anchor counts its exclusion-constraint failures. wrk counts
-- anything else as "Non-2xx or 3xx responses" — the script tallies 409s apart (done()).

local start = os.getenv("BOOK_START") or "2027-01-01"
local token = assert(os.getenv("BOOK_TOKEN"), "BOOK_TOKEN: a guest's access token")
local y, m, d = start:match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
assert(y, "BOOK_START must be YYYY-MM-DD")

local dates = {}
for i = 0, 364 do
  dates[i] = os.date("%Y-%m-%d", os.time({ year = tonumber(y), month = tonumber(m), day = tonumber(d) + i, hour = 12 }))
end

local ids = {}
local ids_path = os.getenv("BOOK_IDS")
assert(ids_path, "BOOK_IDS: a file of listing ids")
for line in io.lines(ids_path) do ids[#ids + 1] = line end
assert(#ids > 0, "BOOK_IDS is empty")

-- BOOK_SEED: a different one per run, or a run would retry the stays the one before it booked (all 409s).
local base = tonumber(os.getenv("BOOK_SEED") or os.time()) * 1000
local threads, all = 0, {}
function setup(thread)
  threads = threads + 1
  thread:set("seed", base + threads)
  all[#all + 1] = thread
end

local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
refused = 0  -- global: done() reads each thread's

function init(args)
  math.randomseed(seed or 777)
end

function request()
  local nights = math.random(1, 7)
  local day = math.random(0, 364 - nights)
  local body = string.format('{"listingId":"%s","checkIn":"%s","checkOut":"%s","guests":1,"paymentMethod":"pm_card_visa"}',
    ids[math.random(1, #ids)], dates[day], dates[day + nights])
  return wrk.format("POST", "/v1/bookings", headers, body)
end

function response(status, headers, body)
  if status == 409 then refused = refused + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(all) do total = total + (thread:get("refused") or 0) end
  io.write(string.format("BOOK refused_409=%d\n", total))
end
