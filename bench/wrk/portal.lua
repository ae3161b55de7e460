-- GET a portal page (VAFA_PATH) as a signed-in member: thread n uses the n-th session of
-- VAFA_SESSIONS (comma-separated session keys), so with one connection per thread every
-- virtual user is a different member. VAFA_THINK_MS (default 0): mean pause between a
-- user's requests, drawn uniformly from 0 to twice the mean.
package.path = os.getenv("VAFA_WRK_DIR") .. "/?.lua;" .. package.path
require("common")

local think_ms = 0

function init(args)
  local sessions = {}
  for key in string.gmatch(os.getenv("VAFA_SESSIONS"), "[^,]+") do
    table.insert(sessions, key)
  end
  think_ms = tonumber(os.getenv("VAFA_THINK_MS") or "0")
  math.randomseed(tid * 104729 + os.time())
  wrk.path = os.getenv("VAFA_PATH")
  wrk.headers["Cookie"] = "sessionid=" .. sessions[(tid - 1) % #sessions + 1]
end

function delay()
  if think_ms > 0 then
    return math.random(0, 2 * think_ms)
  end
  return 0
end
