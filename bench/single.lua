-- wrk script of the benchmark's single-record phase (bench/wrk.py): POSTs the JSON bodies of
-- $IDCHECK_BENCH_BODIES (one a line) to $IDCHECK_BENCH_PATH, in turn, each with the next API key
-- of $IDCHECK_BENCH_KEYS (one a line); wrk counts any answer but 2xx as an error.
local function lines(path)
  local found = {}
  for line in io.lines(path) do found[#found + 1] = line end
  return found
end

local bodies = lines(os.getenv("IDCHECK_BENCH_BODIES"))
local keys = lines(os.getenv("IDCHECK_BENCH_KEYS"))
local path = os.getenv("IDCHECK_BENCH_PATH")
local sent = 0

request = function()
  sent = sent + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. keys[(sent % #keys) + 1],
  }
  return wrk.format("POST", path, headers, bodies[(sent % #bodies) + 1])
end
