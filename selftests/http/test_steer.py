#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ursa-http --steer=bpf: connections from clients pinned to each CPU land
on the loop of that CPU, as the per-loop counts in /metrics show. The same
workload under --steer=reuseport is logged for comparison (the kernel's
hash: no assertion). Skips unless root may load BPF programs and the
process may run on two CPUs."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpt import WRAPPER, Server, Tap, open_sock, request

N = 64  # connections per CPU


def skip(why):
    print("# SKIP: " + why)
    sys.exit(4)


if WRAPPER:
    skip("needs two loops, and under URSA_HTTP_WRAPPER the server has one")


def per_loop(srv):
    """{thread: (cpu, accepted)} from /metrics."""
    _, _, body = request(srv, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    out = {}
    for m in re.finditer(r'^ursa_http_thread_accepted_total\{thread="(\d+)",'
                         r'cpu="(-?\d+)"\} (\d+)$', body.decode(), re.M):
        out[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return out


def from_cpu(srv, cpu):
    """N connections (each answered once, then closed) and a /metrics
    read, all from a thread pinned to @cpu. Returns {thread: accepted}
    added by them, the /metrics connections included."""
    os.sched_setaffinity(0, {cpu})
    before = per_loop(srv)
    socks = []
    for i in range(N):
        s = open_sock(srv)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    for s in socks:
        s.recv(4096)
        s.close()
    after = per_loop(srv)
    return {t: after[t][1] - before[t][1] for t in after}, after


cpus = sorted(os.sched_getaffinity(0))
if os.geteuid() != 0:
    skip("not root: loading the steering program needs CAP_BPF and "
         "CAP_NET_ADMIN")
if len(cpus) < 2:
    skip("the test may run on %d CPU only; steering needs two" % len(cpus))
cpus = cpus[:2]

t = Tap()
srv = Server("--steer=bpf", threads=2)
srv.out.seek(0)
msg = srv.out.read()
if "BPF steering unavailable" in msg:
    srv.stop()
    skip(msg.strip().splitlines()[0])
t.ok(srv.metric("ursa_http_steering_bpf") == 1, "--steer=bpf: steering on")
loops = per_loop(srv)
t.ok(sorted(c for c, _ in loops.values()) == cpus,
     "loops pinned to CPUs %s: %s" % (cpus, loops))
cpu_of = {th: c for th, (c, _) in loops.items()}

steered = {}
for cpu in cpus:
    delta, _ = from_cpu(srv, cpu)
    steered[cpu] = delta
    mine = [th for th in delta if cpu_of[th] == cpu][0]
    # N connections plus the second /metrics read (the first one was
    # counted before it was answered).
    t.ok(delta[mine] == N + 1 and all(v == 0 for th, v in delta.items()
                                      if th != mine),
         "%d connections from CPU %d all on loop %d: %s"
         % (N, cpu, mine, delta))
t.ok(srv.stop() == 0, "--steer=bpf: exit 0")

srv = Server("--steer=reuseport", threads=2)
t.ok(srv.metric("ursa_http_steering_bpf") == 0,
     "--steer=reuseport: no steering")
plain = {}
for cpu in cpus:
    plain[cpu], _ = from_cpu(srv, cpu)
t.ok(srv.stop() == 0, "--steer=reuseport: exit 0")
os.sched_setaffinity(0, set(cpus))

for name, res in (("bpf", steered), ("reuseport", plain)):
    print("# --steer=%s, %d connections from each CPU (+1 /metrics):" %
          (name, N))
    for cpu in cpus:
        print("#   from CPU %d: %s" % (cpu, ", ".join(
            "loop %d (CPU %s) %d" % (th, cpu_of.get(th, "?"), v)
            for th, v in sorted(res[cpu].items()))))
t.done()
