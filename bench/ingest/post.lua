-- 2 KB JSON bodies, each with a unique event id (thread number + counter: each wrk
-- thread has its own Lua state). done() prints one JSON line for the runner.
local counter = 0
local thread_id = 0
local threads = {}
local pad = string.rep("x", 1900)

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
end

function request()
  counter = counter + 1
  local id = string.format("evt_%d_%d", thread_id, counter)
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
