-- wrk script for `manage.py bench`: replays prepared requests and reports as one JSON line.
-- Usage: wrk ... -s requests.lua URL -- REQUESTS_FILE
-- Each line of REQUESTS_FILE is one request, fields separated by tabs:
--   METHOD  PATH  COOKIE-HEADER-or-"-"  FORM-BODY-or-"-"
-- Every connection cycles through them, so several shoppers, pages or products share the load.
-- Requests are formatted once, in init(), as wrk's own default request is: no Lua per
-- request beyond picking the next string.

local requests = {}
local position = 0

-- The file's requests: {method, path, cookie ("-": none), body (nil: none)} each.
function read_requests(path)
  local lines = {}
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    local method, path, cookie, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]*)$")
    assert(method, "bad request line: " .. line)
    if body == "-" or body == "" then body = nil end
    lines[#lines + 1] = {method = method, path = path, cookie = cookie, body = body}
  end
  file:close()
  assert(#lines > 0, "no requests in " .. path)
  return lines
end

function format_request(line, cookie)
  local headers = {}
  if cookie ~= "-" then headers["Cookie"] = cookie end
  if line.body then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["Origin"] = wrk.scheme .. "://" .. wrk.host .. ":" .. wrk.port
  end
  return wrk.format(line.method, line.path, headers, line.body)
end

function init(args)
  for _, line in ipairs(read_requests(args[1])) do
    requests[#requests + 1] = format_request(line, line.cookie)
  end
  -- Threads start at different points of the cycle.
  position = math.random(#requests) - 1
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function done(summary, latency)
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
