#!/usr/bin/env python3
"""HTTP/2 against a JSON-RPC server: httpx (with h2) over h2c with prior knowledge and over TLS
(ALPN), and the h2 library on a raw socket for what httpx hides (the server's SETTINGS, an
early 413 on an oversized body).

usage: python_h2.py HOST:PORT HTTPS_HOST:PORT CA_PEM MAX_STREAMS
Prints one line per check and "N passed, M failed"; exits 1 on a failure.
"""
import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings
import httpx

plain, tls, ca, max_streams = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


CALL = {"jsonrpc": "2.0", "method": "add", "params": [5, 3], "id": 1}

# h2c with prior knowledge: httpx speaks HTTP/2 on a plain connection when HTTP/1.1 is off.
with httpx.Client(http1=False, http2=True, timeout=10) as c:
    r = c.post(f"http://{plain}/", json=CALL)
    check("h2c: version", r.http_version == "HTTP/2", r.http_version)
    check("h2c: answer", r.status_code == 200 and r.json().get("result") == 8, r.text)
    batch = [dict(CALL, id=i, params=[i, i]) for i in range(1, 4)]
    r = c.post(f"http://{plain}/", json=batch)
    check("h2c: batch", sorted(m["result"] for m in r.json()) == [2, 4, 6], r.text)
    r = c.get(f"http://{plain}/health")
    check("h2c: health", r.status_code == 200 and r.json().get("status") == "ok", r.text)
    r = c.post(f"http://{plain}/", content=b"{}", headers={"content-type": "text/plain"})
    check("h2c: 415", r.status_code == 415, str(r.status_code))

# h2 over TLS, negotiated by ALPN.
with httpx.Client(http2=True, verify=ca, timeout=10) as c:
    r = c.post(f"https://{tls}/", json=CALL)
    check("h2 over TLS: version", r.http_version == "HTTP/2", r.http_version)
    check("h2 over TLS: answer", r.json().get("result") == 8, r.text)

# HTTP/1.1 still answers on the same port.
with httpx.Client(timeout=10) as c:
    r = c.post(f"http://{plain}/", json=CALL)
    check("http/1.1 on the same port", r.http_version == "HTTP/1.1" and r.json()["result"] == 8)

# The h2 library on a raw socket: the SETTINGS the server announces, and an oversized body.
host, port = plain.rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sid = conn.get_next_available_stream_id()
conn.send_headers(sid, [(":method", "POST"), (":path", "/"), (":scheme", "http"),
                        (":authority", plain), ("content-type", "application/json"),
                        ("content-length", str(100 * 1024 * 1024))])
conn.send_data(sid, b" " * 1000)
s.sendall(conn.data_to_send())
settings, status, done = {}, None, False
while not done:
    data = s.recv(65536)
    if not data:
        break
    for e in conn.receive_data(data):
        if isinstance(e, h2.events.RemoteSettingsChanged):
            settings = {k: v.new_value for k, v in e.changed_settings.items()}
        elif isinstance(e, h2.events.ResponseReceived):
            status = dict(e.headers).get(b":status")
        elif isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)):
            done = True
    s.sendall(conn.data_to_send())
s.close()
got = settings.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS)
check("SETTINGS_MAX_CONCURRENT_STREAMS", got == max_streams, f"{got} != {max_streams}")
check("SETTINGS_MAX_HEADER_LIST_SIZE", settings.get(h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE)
      is not None, str(settings))
check("oversized body: 413 before it is read", status == b"413", str(status))

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
