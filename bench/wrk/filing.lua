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
