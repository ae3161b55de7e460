-- POST /api/v1/events/ purchases: a unique idempotency key and order id per request
-- (run tag, thread, counter), a random member out of VAFA_MEMBERS, amounts 5.00-199.99 EUR.
-- env: VAFA_API_KEY, VAFA_MEMBERS, VAFA_RUN
package.path = os.getenv("VAFA_WRK_DIR") .. "/?.lua;" .. package.path
require("common")

local counter = 0
local members, run

function init(args)
  members = tonumber(os.getenv("VAFA_MEMBERS"))
  run = os.getenv("VAFA_RUN")
  math.randomseed(tid * 7919 + os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Api-Key " .. os.getenv("VAFA_API_KEY")
end

function request()
  counter = counter + 1
  local id = run .. "-" .. tid .. "-" .. counter
  local body = string.format(
    '{"idempotency_key": "k-%s", "type": "purchase", "member_id": %d, ' ..
    '"amount": "%d.%02d", "currency": "EUR", "order_id": "o-%s"}',
    id, math.random(1, members), math.random(5, 199), math.random(0, 99), id)
  return wrk.format(nil, nil, nil, body)
end
