-- wrk script for `manage.py bench`: session writes, sent as a browser tab sends them.
-- Usage: wrk -tN -cN ... -s follow.lua URL -- REQUESTS_FILE SESSION-COOKIE-NAME
-- requests.lua's requests and report, but each thread (one connection each) writes as one shopper
-- of the file and sends the session cookie the last answer set. One shopper per connection: no two
-- writes of one session overlap and wait for its lock (tools/bench/stages.py). A cookie session gets
-- a new cookie at every write, and the shop refuses a write sent with one a later write replaced (its
-- fence between two tabs, shop/core/session_lock.py): replayed, nearly every write would be that 409.
-- Its own file because wrk parses every answer's headers for a script that has response(). A run
-- ends with a write in flight on each connection, which may replace the last cookie seen: the next
-- run starts from sessions signed in afresh (tools/bench/measure.py), not from these cookies.

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "requests.lua")

local lines, name, pattern, cookie, position, threads = nil, nil, nil, nil, 0, 0

function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

function init(args)
  local all, seen, cookies = read_requests(args[1]), {}, {}
  for _, line in ipairs(all) do
    if not seen[line.cookie] then seen[line.cookie] = true; cookies[#cookies + 1] = line.cookie end
  end
  cookie, lines = cookies[index % #cookies + 1], {}  -- this thread's shopper: the index-th cookie
  for _, line in ipairs(all) do
    if line.cookie == cookie then lines[#lines + 1] = line end
  end
  name = args[2]
  pattern = name:gsub("%-", "%%-") .. "=([^;]*)"  -- "__Host-sessionid" has a "-"
  position = math.random(#lines) - 1
end

function request()
  position = position % #lines + 1
  return format_request(lines[position], cookie)
end

function response(status, headers, body)
  -- wrk keeps one value per header name: Django sets the session cookie after the messages one.
  local value = headers["Set-Cookie"] and headers["Set-Cookie"]:match("^" .. pattern)
  if value then cookie = cookie:gsub(pattern, name .. "=" .. value:gsub("%%", "%%%%"), 1) end
end
