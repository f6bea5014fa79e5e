# SPDX-License-Identifier: MIT
"""Helpers for the ursa-http selftests: start a server on a free port of
127.0.0.1, talk to it over raw sockets, and print TAP."""
import atexit
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("URSA_HTTP", os.path.join(HERE, "ursa-http"))
# A command the server runs under, such as valgrind (docs/http.md).
WRAPPER = shlex.split(os.environ.get("URSA_HTTP_WRAPPER", ""))


# Why RSS is not compared under a wrapper or a sanitizer.
RSS_SKIP = ("RSS under URSA_HTTP_WRAPPER or ASan is the tool's (freed blocks "
            "kept in quarantine, shadow memory)")


def wrapped_note(what):
    """Under a wrapper, say what a test leaves out; True if wrapped."""
    if WRAPPER:
        print("# under URSA_HTTP_WRAPPER: %s" % what)
    return bool(WRAPPER)


class Server:
    def __init__(self, *args, root=None, threads=1):
        if not os.access(BIN, os.X_OK):
            print("# no ursa-http binary at %s" % BIN)
            sys.exit(4)
        self.tmp = tempfile.mkdtemp(prefix="ursa-http-test.")
        self.root = root or make_root(self.tmp)
        self.out = open(os.path.join(self.tmp, "server.out"), "w+")
        if WRAPPER and threads > 1:
            # valgrind runs one thread at a time and keeps its lock while
            # a loop waits in io_uring_enter: one loop only.
            wrapped_note("--threads 1 instead of %d" % threads)
            threads = 1
        self.proc = subprocess.Popen(
            WRAPPER + [BIN, "--listen", "127.0.0.1:0",
                       "--threads", str(threads),
                       "--root", self.root] + list(args),
            stdout=self.out, stderr=subprocess.STDOUT)
        # A script that dies half-way leaves no server behind.
        atexit.register(self.kill)
        deadline = time.time() + (60 if WRAPPER else 10)
        while time.time() < deadline:
            with open(self.out.name) as f:
                m = re.search(r"at http://([0-9.]+):(\d+)/", f.read())
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        with open(self.out.name) as f:
            print("# server did not start: " + f.read().replace("\n", " "))
        if "io_uring" in open(self.out.name).read():
            sys.exit(4)
        sys.exit(1)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def connect(self, timeout=10):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        return s

    def stop(self, sig=signal.SIGTERM, timeout=None):
        if timeout is None:
            timeout = 120 if WRAPPER else 15
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -999

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def rss_is_tools(self):
        """RSS says little under a wrapper or in an ASan build."""
        if WRAPPER:
            return True
        with open("/proc/%d/maps" % self.proc.pid) as f:
            return "libasan" in f.read()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def metric(self, name):
        st, _, body = request(self, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        return None


def make_root(tmp):
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "sub"))
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<h1>ursa</h1>\n")
    with open(os.path.join(root, "hello.txt"), "w") as f:
        f.write("hello, world\n")
    with open(os.path.join(root, "sub", "index.html"), "w") as f:
        f.write("<p>sub</p>\n")
    with open(os.path.join(root, "4k.bin"), "wb") as f:
        f.write(bytes(range(256)) * 16)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(os.urandom(16 << 20))
    with open(os.path.join(tmp, "secret.txt"), "w") as f:
        f.write("secret\n")
    os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(root, "out"))
    os.symlink("hello.txt", os.path.join(root, "in"))
    return root


def read_response(sock, head=False):
    """Read one response: (status, headers dict, body). Raises on EOF."""
    buf = sock.recv_buf if hasattr(sock, "recv_buf") else b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise EOFError("eof before headers: %r" % buf[:200])
        buf += d
    hdr, buf = buf.split(b"\r\n\r\n", 1)
    lines = hdr.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = 0 if head or status in (204, 304) else int(headers.get("content-length", 0))
    while len(buf) < n:
        d = sock.recv(65536)
        if not d:
            raise EOFError("eof in body")
        buf += d
    body, sock.recv_buf = buf[:n], buf[n:]
    return status, headers, body


def open_sock(srv, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((srv.host, srv.port))
    w = _Wrap(s)
    return w


class _Wrap:
    def __init__(self, s):
        self.s = s
        self.recv_buf = b""

    def __getattr__(self, name):
        return getattr(self.s, name)


def request(srv, raw, head=False, timeout=10):
    s = open_sock(srv, timeout)
    try:
        s.sendall(raw)
        return read_response(s, head)
    finally:
        s.close()


def status_of(srv, raw, timeout=10):
    """Send raw bytes on a new connection; the status of the first
    response, or 0 if the server closed without one."""
    s = open_sock(srv, timeout)
    try:
        s.sendall(raw)
        try:
            return read_response(s)[0]
        except (EOFError, ConnectionResetError):
            return 0
    finally:
        s.close()


class Tap:
    def __init__(self, plan=None):
        self.n = 0
        self.failed = 0
        if plan:
            print("1..%d" % plan)
        self.plan = plan
        sys.stdout.flush()

    def ok(self, cond, desc):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%sok %d %s" % ("" if cond else "not ", self.n, desc))
        sys.stdout.flush()
        return cond

    def skip(self, desc, why):
        self.n += 1
        print("ok %d %s # SKIP %s" % (self.n, desc, why))
        sys.stdout.flush()

    def done(self):
        if not self.plan:
            print("1..%d" % self.n)
        print("# %d passed, %d failed" % (self.n - self.failed, self.failed))
        sys.exit(1 if self.failed else 0)
