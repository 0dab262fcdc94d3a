-- 2 KB JSON bodies with unique event ids, as bench/ingest/post.lua, but the padding is
-- random text (64 variants made at start): real payloads compress little, and PostgreSQL
-- compresses a large clear value that a sealed one never is. `-- repeat` sends the
-- ingest benchmark's run of "x" instead; a second argument prefixes the ids. done() prints one JSON line for the runner.
local counter = 0
local thread_id = 0
local prefix = ""
local threads = {}
local pads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
  prefix = args[2] or ""  -- one per wrk run, so ids stay unique across runs
  math.randomseed(12345 + tid)
  local alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
  for i = 1, 64 do
    if args[1] == "repeat" then
      pads[i] = string.rep("x", 1900)
    else
      local chars = {}
      for j = 1, 1900 do
        local k = math.random(1, #alphabet)
        chars[j] = alphabet:sub(k, k)
      end
      pads[i] = table.concat(chars)
    end
  end
end

function request()
  counter = counter + 1
  local id = string.format("evt_%s%d_%d", prefix, thread_id, counter)
  local pad = pads[counter % 64 + 1]
  local body = string.format('{"id":"%s","type":"order.created","data":{"pad":"%s"}}', id, pad)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Event-Id"] = id}, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
