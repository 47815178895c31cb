-- wrk script: like add.lua, and checks every answer (status 200, result 3, id 1). Slower (a Lua
-- call per response), so `compare` runs it only as a short sample before the timed runs.
-- Prints "CHECK good=N bad=M" at the end, and the first wrong answer if there is one.
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}'
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  good = 0
  bad = 0
  first_bad = ""
end

function response(status, headers, body)
  if status == 200 and body:find('"result":3[,}]') and body:find('"id":1[,}]')
      and body:find('"jsonrpc":"2.0"', 1, true) and not body:find('"error"', 1, true) then
    good = good + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = status .. " " .. body
    end
  end
end

function done(summary, latency, requests)
  local g, b, first = 0, 0, ""
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    b = b + t:get("bad")
    if first == "" then
      first = t:get("first_bad")
    end
  end
  io.write(string.format("CHECK good=%d bad=%d\n", g, b))
  if first ~= "" then
    io.write("FIRST_BAD " .. first .. "\n")
  end
end
