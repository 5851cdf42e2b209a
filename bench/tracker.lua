-- wrk script for bench/tracker.mjs: HTTP announces with varying info hashes and peer ids.
-- Info hashes follow the bench's pattern: 16 bytes 0x6d then the torrent index (uint32, big-endian),
-- for TORRENTS torrents (the same ones opentracker's whitelist lists). Both trackers close the
-- connection after each reply, so wrk opens a fresh connection per request, as clients do.
local torrents = tonumber(os.getenv("TORRENTS") or "1000")
local prefix = string.rep("%6D", 16)
local threads = {}
local failures = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

local function byte(n) return string.format("%%%02X", n) end

function request()
  local t = math.random(0, torrents - 1)
  local ih = prefix .. byte(math.floor(t / 16777216) % 256) .. byte(math.floor(t / 65536) % 256) .. byte(math.floor(t / 256) % 256) .. byte(t % 256)
  local pid = "-BENCH0-"
  for i = 1, 12 do pid = pid .. byte(math.random(0, 255)) end
  local left = (math.random(0, 1) == 0) and "0" or "1000"
  local path = "/announce?info_hash=" .. ih .. "&peer_id=" .. pid .. "&port=" .. math.random(1024, 65535) ..
    "&uploaded=0&downloaded=0&left=" .. left .. "&compact=1&numwant=50"
  return wrk.format("GET", path, { ["Host"] = "127.0.0.1" })
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, "failure reason", 1, true) then failures = failures + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("failures") or 0) end
  io.write(string.format("FAILURES %d\n", total))
end
