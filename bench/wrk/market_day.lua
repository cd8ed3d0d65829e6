-- wrk: a market-day mix at the gateway. Per request, by weight: file an application (35), a villager's
-- public look-up (25), a staff list (15), a supervisor accepting a waiting case (10), a complaint (15).
-- CUNBAN_BENCH_TOKEN, CUNBAN_BENCH_SUPERVISOR_TOKEN, CUNBAN_BENCH_FILING, CUNBAN_BENCH_COMPLAINT,
-- CUNBAN_BENCH_RUN, CUNBAN_BENCH_RECEIPTS (a file: receipts to look up), CUNBAN_BENCH_CASES (a file:
-- receipts of cases waiting to be accepted, shared out between wrk's threads).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local function lines(path)
  local found = {}
  for line in io.lines(path) do found[#found + 1] = line end
  return found
end

local agent = "Bearer " .. os.getenv("CUNBAN_BENCH_TOKEN")
local supervisor = "Bearer " .. os.getenv("CUNBAN_BENCH_SUPERVISOR_TOKEN")
local filing = os.getenv("CUNBAN_BENCH_FILING")
local complaint = os.getenv("CUNBAN_BENCH_COMPLAINT")
local run = os.getenv("CUNBAN_BENCH_RUN")
local receipts, cases, next_case = {}, {}, 1
local n = 0

function init(args)
  receipts = lines(os.getenv("CUNBAN_BENCH_RECEIPTS"))
  local all = lines(os.getenv("CUNBAN_BENCH_CASES"))
  local count = tonumber(os.getenv("CUNBAN_BENCH_THREADS"))
  for i, receipt in ipairs(all) do
    if (i - 1) % count == tid - 1 then cases[#cases + 1] = receipt end
  end
  math.randomseed(tid * 7919)
end

local function file(path, body)
  return wrk.format("POST", path, {["Authorization"] = agent, ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("mix-%s-%d-%d", run, tid, n)}, body)
end

function request()
  n = n + 1
  local roll = math.random(100)
  if roll <= 35 then
    return file("/applications", filing)
  elseif roll <= 60 then
    local receipt = receipts[math.random(#receipts)]
    return wrk.format("GET", "/public/applications/" .. receipt .. "?phone_last4=5678")
  elseif roll <= 75 then
    return wrk.format("GET", "/applications?limit=20", {["Authorization"] = agent})
  elseif roll <= 85 and next_case <= #cases then
    local receipt = cases[next_case]
    next_case = next_case + 1
    return wrk.format("POST", "/applications/" .. receipt .. "/actions",
      {["Authorization"] = supervisor, ["Content-Type"] = "application/json"}, '{"action": "accept"}')
  else
    return file("/complaints", complaint)
  end
end
