-- wrk script for the max-rate phase: ~1.8 KB JSON bodies of varied, poorly compressible
-- content, each with a unique event id (prefix from the command line + wrk thread number +
-- counter; each wrk thread has its own Lua state). done() prints one JSON line for the runner.
--   wrk -t1 -c32 -d10s -s post.lua http://127.0.0.1:PORT/in/bench -- PREFIX
local counter = 0
local thread_id = 0
local prefix = "wrk"
local threads = {}
local pads = {}
local types = {"order.created.v1", "order.paid.v1", "order.fulfilled.v1", "invoice.paid.v1",
               "customer.updated.v1", "payment_intent.succeeded.v1"}
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
  if args[1] then prefix = args[1] end
  math.randomseed(1000 + thread_id)
  for p = 1, 32 do
    local chars = {}
    for i = 1, 1500 do
      local k = math.random(1, #alphabet)
      chars[i] = alphabet:sub(k, k)
    end
    pads[p] = table.concat(chars)
  end
end

function request()
  counter = counter + 1
  local id = string.format("%s-%d-%d", prefix, thread_id, counter)
  local body = string.format(
    '{"id":"%s","type":"%s","created":%d,"livemode":false,"data":{"object":{"amount":%d,"currency":"eur","note":"%s"}}}',
    id, types[counter % #types + 1], 1700000000 + counter, counter % 99991, pads[counter % #pads + 1])
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Event-Id"] = id}, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
