-- wrk script for bench/tracker.mjs: HTTP announces with varying info hashes and peer ids.
-- Info hashes follow the bench's pattern: 16 bytes 0x6d then the torrent index (uint32, big-endian),
-- for TORRENTS torrents (the same ones opentracker's whitelist lists). Each torrent has PEERS
-- peers, each with its own peer id and port, announcing again and again as clients do: the
-- swarms fill during the warm-up and then stay the same size (a tracker at work), instead of
-- growing by a new peer per announce for the whole run. Both trackers close the connection
-- after each reply, so wrk opens a fresh connection per request, as clients do.
local torrents = tonumber(os.getenv("TORRENTS") or "1000")
local peers = tonumber(os.getenv("PEERS") or "64")
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
  -- peer k of torrent t: peer id "-BENCH0-", 4 bytes 0x70, then t and k (uint32 each, big-endian):
  -- the bytes that differ at the end, as in a client's peer id (a prefix, then random bytes)
  local k = math.random(0, peers - 1)
  local pid = "-BENCH0-" .. string.rep("%70", 4) .. byte(math.floor(t / 16777216) % 256) .. byte(math.floor(t / 65536) % 256) .. byte(math.floor(t / 256) % 256) .. byte(t % 256) ..
    byte(math.floor(k / 16777216) % 256) .. byte(math.floor(k / 65536) % 256) .. byte(math.floor(k / 256) % 256) .. byte(k % 256)
  -- a leecher or a seeder, as the peer is (a peer's left does not flip from one announce to the next)
  local left = (k % 2 == 0) and "0" or "1000"
  local path = "/announce?info_hash=" .. ih .. "&peer_id=" .. pid .. "&port=" .. (1024 + (t * peers + k) % 64000) ..
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
