#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ursa-http graceful shutdown: on SIGTERM it stops accepting, closes
idle connections, finishes the responses in flight, answers a request
that arrives complete, and exits 0. SIGINT does the same."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpt import Server, Tap, open_sock, read_response

t = Tap()
for sig in (signal.SIGTERM, signal.SIGINT):
    name = signal.Signals(sig).name
    srv = Server("--header-timeout", "2", threads=2)
    big = open_sock(srv, timeout=20)
    big.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    first = big.recv(1000)
    idle = open_sock(srv)
    idle.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
    read_response(idle)
    half = open_sock(srv)
    half.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.2)
    srv.proc.send_signal(sig)
    time.sleep(0.5)
    idle.settimeout(5)
    t.ok(idle.recv(10) == b"", "%s: an idle keep-alive connection is closed" % name)
    try:
        socket.create_connection((srv.host, srv.port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    t.ok(refused, "%s: no new connections" % name)
    half.sendall(b"\r\n")
    st, h, body = read_response(half)
    t.ok(st == 200 and h.get("connection") == "close",
         "%s: a request completed after the signal is answered, with close" % name)
    t.ok(srv.proc.poll() is None, "%s: still running while a response is in flight" % name)
    big.recv_buf = first
    st, h, body = read_response(big)
    t.ok(st == 200 and len(body) == 16 << 20,
         "%s: the response in flight is finished (%d bytes)" % (name, len(body)))
    try:
        rc = srv.proc.wait(10)
    except Exception:
        rc = None
    t.ok(rc == 0, "%s: exit 0 once done (%s)" % (name, rc))
    out = open(srv.out.name).read()
    t.ok("stopped" in out, "%s: says it stopped" % name)
    srv.stop()
t.done()
