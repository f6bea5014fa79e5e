#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ursa-http protocol tests over http.client and raw sockets: keep-alive,
pipelining, bodies, limits, the malformed-request corpus, the header
timeout (408), a client that never reads, a reset mid-response."""
import http.client
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpt import (RSS_SKIP, Server, Tap, open_sock, read_response,
                   request, status_of)

t = Tap()
srv = Server("--max-header-bytes", "4096", "--max-body-bytes", "65536",
             "--header-timeout", "1", "--keepalive-timeout", "5")

# http.client: keep-alive across several URLs on one connection.
c = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
ok = True
for path, want in [("/hello.txt", 200), ("/plaintext", 200), ("/nope", 404),
                   ("/sub/", 200), ("/healthz", 200), ("/4k.bin", 200)]:
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    ok = ok and r.status == want
sock_before = c.sock
c.request("GET", "/plaintext")
r = c.getresponse()
t.ok(ok and r.read() == b"Hello, World!" and c.sock is sock_before,
     "http.client: six requests and more on one kept-alive connection")
c.request("HEAD", "/4k.bin")
r = c.getresponse()
t.ok(r.status == 200 and r.getheader("Content-Length") == "4096" and
     r.read() == b"", "http.client: HEAD has the length and no body")
c.request("POST", "/discard", body=b"x" * 1000)
r = c.getresponse()
t.ok(r.status == 200 and r.read() == b"received 1000 bytes\n",
     "http.client: POST with Content-Length")
c.request("POST", "/discard", body=iter([b"abc", b"defg"]),
          encode_chunked=True)
r = c.getresponse()
t.ok(r.status == 200 and r.read() == b"received 7 bytes\n",
     "http.client: POST chunked")
c.close()

# 20 pipelined requests in one write, answered in order.
paths = ["/hello.txt", "/plaintext", "/nope", "/4k.bin", "/healthz"] * 4
raw = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p.encode()
               for p in paths)
s = open_sock(srv)
s.sendall(raw)
want = {"/hello.txt": (200, b"hello, world\n"), "/plaintext": (200, b"Hello, World!"),
        "/nope": (404, b"404 Not Found\n"), "/4k.bin": (200, bytes(range(256)) * 16),
        "/healthz": (200, b"ok\n")}
ok = True
for p in paths:
    st, h, body = read_response(s)
    ok = ok and (st, body) == want[p]
t.ok(ok, "20 pipelined requests in one write answered in order")
# The last one closes: no further data after the final response.
s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
st, h, body = read_response(s)
s.settimeout(5)
t.ok(st == 200 and h.get("connection") == "close" and s.recv(100) == b"",
     "Connection: close is honoured")
s.close()

# Pipelined HEAD and GET with bodies of different kinds.
s = open_sock(srv)
s.sendall(b"HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
          b"POST /discard HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
          b"POST /discard HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"3\r\nabc\r\n0\r\n\r\n"
          b"GET /hello.txt HTTP/1.0\r\n\r\n")
r1 = read_response(s, head=True)
r2 = read_response(s)
r3 = read_response(s)
r4 = read_response(s)
t.ok(r1[0] == 200 and r1[1]["content-length"] == "13" and
     r2[2] == b"received 5 bytes\n" and r3[2] == b"received 3 bytes\n" and
     r4[2] == b"hello, world\n" and r4[1].get("connection") == "close",
     "pipelined HEAD, POST (length), POST (chunked), HTTP/1.0 GET")
s.close()

# HTTP/1.0 keep-alive.
s = open_sock(srv)
s.sendall(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
st, h, _ = read_response(s)
s.sendall(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
st2, h2, _ = read_response(s)
t.ok(st == st2 == 200 and h.get("connection") == "keep-alive",
     "HTTP/1.0 keep-alive")
s.close()

# Requests split across many small writes.
s = open_sock(srv)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for ch in b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: drip\r\n\r\n":
    s.sendall(bytes([ch]))
st, h, body = read_response(s)
t.ok(st == 200 and body == b"hello, world\n", "a request sent one byte a write")
s.close()

# Expect: 100-continue (RFC 9110 10.1.1). The 100 comes before the body
# is read, once, and only when the body has not started to arrive.
def recv_some(s, n=65536, timeout=5):
    s.settimeout(timeout)
    try:
        return s.recv(n)
    except socket.timeout:
        return b""


def case(desc, fn):
    """Run one exchange; a server that breaks it fails the case only."""
    try:
        ok = fn()
    except (EOFError, OSError, ValueError, IndexError) as e:
        print("# %s: %r" % (desc, e))
        ok = False
    t.ok(ok, desc)


CONT = b"HTTP/1.1 100 Continue\r\n\r\n"


def expect_headers_first():
    s = open_sock(srv)
    s.sendall(b"POST /discard HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              b"Expect: 100-continue\r\n\r\n")
    first = recv_some(s)
    s.sendall(b"hello")
    st, h, body = read_response(s)
    ok = first == CONT and st == 200 and body == b"received 5 bytes\n"
    # The connection goes on, and a chunked one waits for its 100 too.
    s.sendall(b"POST /discard HTTP/1.1\r\nHost: x\r\n"
              b"Transfer-Encoding: chunked\r\nExpect: 100-Continue\r\n\r\n")
    first = recv_some(s)
    s.sendall(b"3\r\nabc\r\n0\r\n\r\n")
    st, h, body = read_response(s)
    s.close()
    return ok and first == CONT and st == 200 and body == b"received 3 bytes\n"


def expect_body_sent(part):
    s = open_sock(srv)
    s.sendall(b"POST /discard HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              b"Expect: 100-continue\r\n\r\n" + b"hello"[:part])
    if part < 5:
        time.sleep(0.2)
        s.sendall(b"hello"[part:])
    st, h, body = read_response(s)
    s.close()
    return st == 200 and body == b"received 5 bytes\n"


def expect_after_pipelined():
    s = open_sock(srv)
    s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
              b"POST /discard HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
              b"Expect: 100-continue\r\n\r\n")
    st1, h1, body1 = read_response(s)
    cont = s.recv_buf
    while len(cont) < len(CONT):
        d = recv_some(s)
        if not d:
            break
        cont += d
    s.recv_buf = cont[len(CONT):]
    s.sendall(b"abc")
    st2, h2, body2 = read_response(s)
    s.close()
    return (st1 == 200 and body1 == b"Hello, World!" and
            cont[:len(CONT)] == CONT and st2 == 200 and
            body2 == b"received 3 bytes\n")


def expect_no_body():
    st, h, body = request(srv, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n"
                          b"Expect: 100-continue\r\n\r\n")
    return st == 200 and body == b"Hello, World!"


def expect_http10():
    s = open_sock(srv)
    s.sendall(b"POST /discard HTTP/1.0\r\nContent-Length: 5\r\n"
              b"Expect: 100-continue\r\n\r\n")
    early = recv_some(s, timeout=0.3)
    s.sendall(b"hello")
    st, h, body = read_response(s)
    s.close()
    return early == b"" and st == 200 and body == b"received 5 bytes\n"


def expect_refused(length, exp, want):
    s = open_sock(srv)
    s.sendall(b"POST /discard HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
              b"Expect: %s\r\n\r\n" % (length, exp))
    st, h, body = read_response(s)
    rest = recv_some(s)
    s.close()
    return (st == want and h.get("connection") == "close" and
            body.startswith(b"%d " % want) and rest == b"")


c0 = srv.metric("ursa_http_continues_total")
case("Expect: 100-continue: headers alone get 100, then the body its answer;"
     " again chunked on the same connection", expect_headers_first)
case("Expect: 100-continue with the body already sent: no 100, the answer",
     lambda: expect_body_sent(5))
case("Expect: 100-continue with part of the body sent: no 100",
     lambda: expect_body_sent(2))
case("Expect: 100-continue after a pipelined request: its answer, 100, answer",
     expect_after_pipelined)
case("Expect: 100-continue on a request without a body: no 100",
     expect_no_body)
case("Expect: 100-continue from HTTP/1.0 is ignored: no 100", expect_http10)
case("Expect: 100-continue over --max-body-bytes: 413 and close, no 100",
     lambda: expect_refused(70000, b"100-continue", 413))
for exp in (b"foo", b"100-continue, foo", b"200-ok"):
    case("Expect: %s: 417 and close, no 100" % exp.decode(),
         lambda: expect_refused(5, exp, 417))
t.ok(srv.metric("ursa_http_continues_total") == (c0 or 0) + 3,
     "ursa_http_continues_total counts the three 100s sent")

# The malformed-request corpus: each with the status it must get.
long_url = b"/" + b"a" * 5000
many_hdrs = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(60))
corpus = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    (b"GET\r\n\r\n", 400),
    (b"GET /\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400),
    (b"GET / FOO/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"get / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\n x\r\n\r\n", 200),
    (b"GET / HTTP/1.1\r\nX(y): x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX@y: x\r\n\r\n", 400),
    (b"GET / HTTP/0.9\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHo\x00st: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400),
    (b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
    (b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"POST /discard HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
    (b"POST /discard HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST /discard HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    (b"POST /discard HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /discard HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"POST /discard HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
    (b"POST /discard HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
    (b"POST /discard HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST /discard HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501),
    (b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"FROB / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"PUT /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
    (b"DELETE /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"PATCH / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
    (b"POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
    (b"GET /discard HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET " + long_url + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /" + b"b" * 4100 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\n" + many_hdrs + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nX-Big: " + b"v" * 5000 + b"\r\n\r\n", 431),
    (b"POST /discard HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", 413),
    (b"POST /discard HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n", 413),
    (b"POST /discard HTTP/1.1\r\nContent-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n", 413),
    (b"POST /discard HTTP/1.1\r\nExpect: gzip\r\nContent-Length: 1\r\n\r\nx", 417),
    (b"GET / HTTP/1.1\r\nExpect: 100-continue-ish\r\n\r\n", 417),
    (b"GET / HTTP/1.1\r\nExpect:\r\n\r\n", 200),
    (b"GET / HTTP/1.0\r\nExpect: foo\r\n\r\n", 200),
    (b"POST /discard HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
     b"8000\r\n" + b"x" * 0x8000 + b"\r\n" + b"8000\r\n" + b"x" * 0x8000 + b"\r\n" +
     b"8000\r\n" + b"x" * 100, 413),
    (b"GET /../hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 403),
    (b"GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n", 403),
    (b"GET /sub/../../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n", 403),
    (b"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n", 403),
    (b"GET /hello.txt%00.html HTTP/1.1\r\nHost: x\r\n\r\n", 403),
    (b"GET /out HTTP/1.1\r\nHost: x\r\n\r\n", 403),
    (b"GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", 301),
    (b"GET /in HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"GET /./hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"GET //hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"GET /hello%2etxt HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"GET /hello.txt?x=../../etc HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"GET /hello.txt HTTP/1.1\r\nRange: bytes=100-\r\n\r\n", 416),
    (b"GET /hello.txt HTTP/1.1\r\nRange: bytes=-0\r\n\r\n", 416),
    (b"GET /hello.txt HTTP/1.1\r\nRange: bytes=0-1,3-4\r\n\r\n", 200),
    (b"GET /hello.txt HTTP/1.1\r\nRange: items=0-1\r\n\r\n", 200),
    (b"GET /hello.txt HTTP/1.1\r\nRange: bytes=5-2\r\n\r\n", 200),
]
ok_cases = 0
for raw, want in corpus:
    got = status_of(srv, raw)
    if got == want:
        ok_cases += 1
    else:
        print("# corpus: %r -> %d, want %d" % (raw[:60], got, want))
t.ok(len(corpus) >= 50 and ok_cases == len(corpus),
     "malformed-request corpus: %d/%d cases get their status" %
     (ok_cases, len(corpus)))

# Error responses carry Connection: close, and the server closes.
s = open_sock(srv)
s.sendall(b"GARBAGE\r\n\r\n")
st, h, _ = read_response(s)
t.ok(st == 400 and h.get("connection") == "close" and s.recv(10) == b"",
     "a 400 says Connection: close and closes")
s.close()

# Header timeout: a partial request gets 408, an idle one is closed.
s = open_sock(srv)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
t0 = time.time()
st, h, _ = read_response(s)
t.ok(st == 408 and h.get("connection") == "close",
     "header timeout: 408 for a request that stops halfway")
s.close()
s = open_sock(srv)
t0 = time.time()
s.settimeout(10)
t.ok(s.recv(10) == b"",
     "a connection that sends nothing is closed after the header timeout")
s.close()

# A client that never reads: its memory is bounded by the send limit.
rss0 = srv.rss_kib()
socks = []
for i in range(8):
    s = open_sock(srv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
    socks.append(s)
time.sleep(1)
rss1 = srv.rss_kib()
desc = "8 clients that never read 50 x 16 MiB: RSS grew %d KiB" % (rss1 - rss0)
if srv.rss_is_tools():
    t.skip(desc, RSS_SKIP)
else:
    t.ok(rss1 - rss0 < 8 * 1024 * 2, desc)
for s in socks:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()

# A reset and a half-close in the middle of a response.
for i in range(20):
    s = open_sock(srv)
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(1000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
s = open_sock(srv)
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
s.shutdown(socket.SHUT_WR)
st, h, body = read_response(s)
t.ok(st == 200 and len(body) == 16 << 20, "a half-closed client still gets its response")
s.close()
time.sleep(0.5)
t.ok(srv.proc.poll() is None and srv.metric("ursa_http_open_connections") == 1,
     "resets mid-response: server alive, no connection left behind")

# The reader is at most one request ahead of the responder. On a fresh
# server, 20 pipelined requests for 256 KiB each (streamed from the file
# in chunks: a slow handler), with a client that reads late: while one is
# streamed, the next waits in the input's slot and the rest stay unparsed.
srv2 = Server()
ahead0 = srv2.metric("ursa_http_pipeline_ahead_max")
s = open_sock(srv2, timeout=20)
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-262143\r\n\r\n" * 20)
time.sleep(0.5)
ok = True
for i in range(20):
    st, h, body = read_response(s)
    ok = ok and st == 206 and len(body) == 262144
s.close()
ahead = srv2.metric("ursa_http_pipeline_ahead_max")
t.ok(ok and ahead0 == 1 and ahead == 2,
     "20 pipelined streamed requests: the reader ran one ahead at most "
     "(most parsed and not answered: %s, before %s)" % (ahead, ahead0))
# Responses that are ready together go out in one send: 20 pipelined
# requests that arrive in one segment cost one send (plus the send of
# the first /metrics answer).
sends0 = srv2.metric('ursa_loop_submitted_total{op="send"}')
s = open_sock(srv2)
s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" * 20)
ok = True
for i in range(20):
    st, h, body = read_response(s)
    ok = ok and st == 200 and body == b"Hello, World!"
s.close()
sends = srv2.metric('ursa_loop_submitted_total{op="send"}') - sends0
t.ok(ok and sends == 2 and
     srv2.metric("ursa_http_pipeline_ahead_max") == 2,
     "20 pipelined requests in one segment: answered in one send (%d)" %
     (sends - 1))
t.ok(srv2.stop() == 0, "second server: SIGTERM, exit 0")

t.ok(srv.stop() == 0, "SIGTERM: exit 0")
t.done()
