-- wrk script: POST one JSON-RPC `add` [1,2] with id 1 on every request (keep-alive).
--   wrk -t1 -c64 -d2s -s bench/wrk/add.lua http://127.0.0.1:PORT/
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}'
wrk.headers["Content-Type"] = "application/json"
