-- Shared by the wrk scripts: per-thread status counts and a JSON summary from done().
-- wrk runs every thread in its own Lua state; setup() numbers them, done() reads their
-- counters back. Latencies are in microseconds as wrk records them.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

statuses = {}

function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function status_line()
  -- "201=1234,409=2": read back by done() through thread:get
  local parts = {}
  for status, n in pairs(statuses) do
    table.insert(parts, status .. "=" .. n)
  end
  return table.concat(parts, ",")
end

function response(status, headers, body)
  count_status(status)
  if status >= 400 and not printed_error then
    printed_error = true
    io.stderr:write("first error " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
  end
  statuses_text = status_line()
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local text = thread:get("statuses_text") or ""
    for status, n in string.gmatch(text, "(%d+)=(%d+)") do
      total[status] = (total[status] or 0) + tonumber(n)
    end
  end
  local codes = {}
  for status, n in pairs(total) do
    table.insert(codes, string.format('"%s": %d', status, n))
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "statuses": {%s}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_ms": {"mean": %.2f, "p50": %.2f, "p90": %.2f, "p95": %.2f, "p99": %.2f, ' ..
    '"max": %.2f}}\n',
    summary.requests, seconds, summary.requests / seconds, table.concat(codes, ", "),
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency.mean / 1e3, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3))
end
