-- wrk: a station filing applications, each with its own Idempotency-Key.
-- CUNBAN_BENCH_TOKEN (a bearer token), CUNBAN_BENCH_FILING (the JSON body), CUNBAN_BENCH_RUN (makes keys unique)
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local token = os.getenv("CUNBAN_BENCH_TOKEN")
local body = os.getenv("CUNBAN_BENCH_FILING")
local run = os.getenv("CUNBAN_BENCH_RUN")
local n = 0

function request()
  n = n + 1
  return wrk.format("POST", "/applications", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, tid, n),
  }, body)
end

-- CUNBAN_BENCH_PAUSE_MS: each connection (a station) waits about this long after an answer before its next
-- filing (and before its first), so the load offered is about connections / (pause + latency) filings a second
-- instead of as many as fit. The wait is drawn from ½–1½ × the pause, as stations keep no common beat: with
-- a fixed wait, wrk's connections, all opened at once, would file in step, in bursts of all of them together.
local pause = tonumber(os.getenv("CUNBAN_BENCH_PAUSE_MS") or "0")
if pause > 0 then
  function init(args)
    math.randomseed(os.time() * 100 + tid)
  end
  function delay()
    return math.random(math.floor(pause / 2), math.floor(pause * 3 / 2))
  end
end
