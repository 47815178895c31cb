#!/usr/bin/env python3
"""Interop check: third-party Python clients against the calculator example server.

Usage: python_client.py HTTP_URL WS_URL TCP_HOST:PORT

Uses `requests` (HTTP), `websockets` (WebSocket), `jsonrpcclient` (request building and
response parsing) and a plain socket (newline-delimited JSON over TCP). Exits non-zero with a
message on the first mismatch; prints one line per check and a closing summary.
"""
import asyncio
import json
import socket
import sys

import requests
import websockets
from jsonrpcclient import Error, Ok, parse, request, notification

checks = 0


def check(name, got, want):
    global checks
    if got != want:
        print(f"FAIL {name}: got {got!r}, want {want!r}")
        sys.exit(1)
    checks += 1
    print(f"ok   {name}")


def http_checks(url):
    s = requests.Session()
    r = s.post(url, json=request("add", params={"a": 5, "b": 3}))
    check("http add by name status", r.status_code, 200)
    resp = parse(r.json())
    check("http add by name", isinstance(resp, Ok) and resp.result, {"sum": 8})
    resp = parse(s.post(url, json=request("subtract", params=[42, 23])).json())
    check("http subtract by position", resp.result, {"difference": 19})
    resp = parse(s.post(url, json=request("divide", params={"a": 1, "b": 0})).json())
    check("http divide by zero code", isinstance(resp, Error) and resp.code, -32602)
    resp = parse(s.post(url, json=request("no_such_method")).json())
    check("http method not found", resp.code, -32601)
    r = s.post(url, json=notification("log", params={"message": "from python"}))
    check("http notification status", r.status_code, 204)
    check("http notification body", r.content, b"")
    batch = [
        request("add", params={"a": 1, "b": 2}, id=1),
        notification("log", params={"message": "batched"}),
        request("multiply", params=[3, 4], id=2),
        {"foo": "boo"},
    ]
    r = s.post(url, json=batch)
    body = r.json()
    check("http batch is an array of 3", isinstance(body, list) and len(body), 3)
    by_id = {e["id"]: e for e in body}
    check("http batch add", by_id[1]["result"], {"sum": 3})
    check("http batch multiply", by_id[2]["result"], {"product": 12})
    check("http batch invalid member", by_id[None]["error"]["code"], -32600)
    r = s.post(url, data=b'{"jsonrpc":"2.0","method":"add","params":[1,2', headers={"Content-Type": "application/json"})
    check("http parse error", r.json(), {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None})
    r = s.post(url, data=b"[]", headers={"Content-Type": "application/json"})
    check("http empty batch", r.json(), {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": None})
    r = s.post(url, data=b"{}", headers={"Content-Type": "text/plain"})
    check("http wrong content type", r.status_code, 415)
    r = s.get(url.rstrip("/") + "/health")
    check("http health status", r.status_code, 200)
    check("http health body", r.json()["status"], "ok")


async def ws_checks(url):
    async with websockets.connect(url) as ws:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check("ws welcome notification", (welcome.get("method"), "id" in welcome), ("welcome", False))
        await ws.send(json.dumps(request("add", params=[2, 3], id="x")))
        resp = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check("ws add", (resp["id"], resp["result"]), ("x", {"sum": 5}))
        await ws.send(json.dumps([request("factorial", params={"n": 5}, id=1), request("factorial", params={"n": -1}, id=2)]))
        resp = json.loads(await asyncio.wait_for(ws.recv(), 5))
        by_id = {e["id"]: e for e in resp}
        check("ws batch factorial", by_id[1]["result"], 120)
        check("ws batch factorial negative", by_id[2]["error"]["code"], -32602)


def tcp_checks(addr):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        f = sock.makefile("rwb")
        f.write(json.dumps(request("multiply", params={"a": 6, "b": 7}, id=9)).encode() + b"\n")
        f.write(b"this is not json\n")
        f.write(json.dumps(request("echo", params=["hi", {"k": [1, 2]}], id=10)).encode() + b"\n")
        f.flush()
        got = [json.loads(f.readline()) for _ in range(3)]
        by_id = {}
        for g in got:
            by_id.setdefault(g["id"], []).append(g)
        check("tcp multiply", by_id[9][0]["result"], {"product": 42})
        check("tcp parse error", by_id[None][0]["error"]["code"], -32700)
        check("tcp echo", by_id[10][0]["result"], ["hi", {"k": [1, 2]}])


def main():
    http_url, ws_url, tcp_addr = sys.argv[1:4]
    http_checks(http_url)
    asyncio.run(ws_checks(ws_url))
    tcp_checks(tcp_addr)
    print(f"{checks} passed, 0 failed")


if __name__ == "__main__":
    main()
