#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ursa-http under load: a bounded wrk run with zero errors, slowloris
(500 connections dripping headers while normal clients are served),
10,000 connect-request-close cycles, and open fds and RSS before and
after, equal within a small bound."""
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpt import (RSS_SKIP, Server, Tap, open_sock, read_response,
                   request)

t = Tap()
srv = Server("--header-timeout", "3", "--max-conns", "4000", threads=2)


def served(n=20):
    ok = 0
    for i in range(n):
        st, _, body = request(srv, b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n"
                              b"Connection: close\r\n\r\n")
        ok += st == 200 and body == b"hello, world\n"
    return ok == n


def slowloris(n, drip_s):
    socks = []
    for i in range(n):
        s = socket.create_connection((srv.host, srv.port), timeout=20)
        s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    return socks


def warm():
    socks = slowloris(500, 0)
    for s in socks:
        s.close()
    served(50)


def settle():
    for i in range(100):
        if srv.metric("ursa_http_open_connections") <= 1:
            break
        time.sleep(0.1)
    time.sleep(0.2)


warm()
settle()
fds0, rss0 = srv.fds(), srv.rss_kib()

# wrk, bounded to 2 s.
if shutil.which("wrk"):
    out = subprocess.run(["wrk", "-t2", "-c64", "-d2s",
                          "http://%s:%d/plaintext" % (srv.host, srv.port)],
                         capture_output=True, text=True, timeout=30).stdout
    reqs = re.search(r"(\d+) requests in", out)
    errs = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print("# " + out.replace("\n", "\n# "))
    t.ok(reqs and int(reqs.group(1)) > 0 and not errs and not non2xx,
         "wrk -c64 -d2s: %s requests, no errors" % (reqs.group(1) if reqs else "?"))
else:
    print("# wrk is not installed: skipping that part")

# Slowloris: 500 connections drip a header byte every 0.5 s.
socks = slowloris(500, 0.5)
stop = threading.Event()


def drip():
    while not stop.is_set():
        for s in socks:
            try:
                s.send(b"X")
            except OSError:
                pass
        time.sleep(0.5)


th = threading.Thread(target=drip)
th.start()
time.sleep(0.5)
t.ok(served(50), "normal clients are served while 500 connections drip")
t.ok(srv.metric("ursa_http_open_connections") >= 500,
     "the dripping connections are all open meanwhile")
got408 = 0
for s in socks:
    s.settimeout(15)
    try:
        buf = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        got408 += buf.startswith(b"HTTP/1.1 408 ")
    except OSError:
        pass
stop.set()
th.join()
for s in socks:
    s.close()
t.ok(got408 == 500, "each dripping connection got 408 (%d/500)" % got408)

# Churn: 10,000 connect-request-close cycles.
bad = 0
for i in range(10000):
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    buf = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    bad += not buf.endswith(b"Hello, World!")
    s.close()
t.ok(bad == 0, "10,000 connect-request-close cycles (%d bad)" % bad)

settle()
fds1, rss1 = srv.fds(), srv.rss_kib()
t.ok(fds1 == fds0, "open fds before and after the load: %d, %d" % (fds0, fds1))
desc = "RSS before and after the load: %d KiB, %d KiB" % (rss0, rss1)
if srv.rss_is_tools():
    t.skip(desc, RSS_SKIP)
else:
    t.ok(rss1 - rss0 <= 4096, desc)
t.ok(srv.stop() == 0, "SIGTERM: exit 0")
t.done()
