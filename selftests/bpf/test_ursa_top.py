#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# ursa-top against a known workload. bpf_workload runs NOPS no-ops and
# READS file reads through one ursa loop while ursa-top --json -p PID
# watches; on SIGINT ursa-top prints its last line, whose totals must
# match the workload exactly:
#
#   - a first run with no work gives what the loop does on its own (its
#     eventfd read, the cancel at exit); the real run must count exactly
#     NOPS more NOPs and READS more READs, and nothing else more;
#   - every counted request completed (in flight 0), none went untracked;
#   - each opcode's histogram adds up to its completions;
#   - the workload's ring was the one ring created.
#
# Prints TAP, one test per check; exits 4 (KSFT_SKIP) with the reason
# when BPF tracing is not possible here.
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NOPS = 20000
READS = 3000
KSFT_SKIP = 4
HERE = os.path.dirname(os.path.abspath(__file__))


def skip(why):
    print("1..0 # SKIP " + why)
    sys.exit(KSFT_SKIP)


def find_top():
    cands = [os.environ.get("URSA_TOP", ""),
             os.path.join(HERE, "../../tools/bpf/ursa-top"),
             os.path.join(HERE, "ursa-top"),
             shutil.which("ursa-top") or ""]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def read_line(f, timeout, what):
    r, _, _ = select.select([f], [], [], timeout)
    if not r:
        raise RuntimeError("no %s within %d s" % (what, timeout))
    return f.readline()


def run(top, workload, path, nops, reads):
    """Run the workload under ursa-top; return ursa-top's last sample."""
    wl = subprocess.Popen([workload, "-w", str(nops), str(reads), path],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    top_p = None
    try:
        line = read_line(wl.stdout, 30, "pid from bpf_workload")
        if not line.startswith("pid "):
            raise RuntimeError("bpf_workload said %r" % line)
        pid = int(line.split()[1])
        top_p = subprocess.Popen([top, "--json", "-i", "0.2", "-p",
                                  str(pid)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        line = read_line(top_p.stderr, 30, "'Tracing' from ursa-top")
        if not line.startswith("Tracing"):
            top_p.wait(10)
            rest = top_p.stderr.read()
            return {"error": (line + rest).strip(), "rc": top_p.returncode}
        wl.stdin.write("go\n")
        wl.stdin.flush()
        out, err = wl.communicate(timeout=60)
        if wl.returncode == KSFT_SKIP:
            skip("bpf_workload: " + err.strip())
        if wl.returncode != 0:
            raise RuntimeError("bpf_workload exited %d: %s" %
                               (wl.returncode, err.strip()))
        top_p.send_signal(signal.SIGINT)
        out, err = top_p.communicate(timeout=30)
        if top_p.returncode != 0:
            raise RuntimeError("ursa-top exited %d after SIGINT: %s" %
                               (top_p.returncode, err.strip()))
        lines = [x for x in out.splitlines() if x.strip()]
        return json.loads(lines[-1])
    finally:
        for p in (wl, top_p):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def by_name(sample):
    return {o["name"]: o for o in sample["ops"]}


def main():
    if os.geteuid() != 0:
        skip("ursa-top needs root (CAP_BPF, CAP_PERFMON)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        skip("the kernel has no BTF (/sys/kernel/btf/vmlinux)")
    top = find_top()
    if not top:
        skip("ursa-top was not built (clang, bpftool or BTF missing at "
             "build time, or CONFIG_URSA_BPF=n)")
    workload = os.path.join(HERE, "bpf_workload")
    if not os.access(workload, os.X_OK):
        print("Bail out! %s is missing" % workload)
        sys.exit(1)

    with tempfile.NamedTemporaryFile(prefix="ursa-top-test.") as f:
        f.write(os.urandom(1 << 20))
        f.flush()
        base = run(top, workload, f.name, 0, 0)
        if "error" in base:
            msg = base["error"].splitlines()[0] if base["error"] else ""
            if "must run as root" in msg or "tracefs" in msg or \
               "BTF" in msg or "not permitted" in msg.lower() or \
               "Operation not permitted" in msg:
                skip(msg)
            print("Bail out! ursa-top failed (exit %s): %s" %
                  (base["rc"], msg))
            sys.exit(1)
        real = run(top, workload, f.name, NOPS, READS)
        if "error" in real:
            print("Bail out! ursa-top failed: %s" % real["error"])
            sys.exit(1)

    checks = []

    def check(ok, desc, diag=""):
        checks.append((bool(ok), desc, diag))

    b, r = by_name(base), by_name(real)
    zero = {"submitted": 0, "completed": 0, "errors": 0, "inflight": 0}
    for name, extra in (("NOP", NOPS), ("READ", READS)):
        bo, ro = b.get(name, zero), r.get(name, zero)
        for key in ("submitted", "completed"):
            got = ro[key] - bo[key]
            check(got == extra, "%s %s: %d more than the idle loop" %
                  (name, key, extra), "got %d (idle %d, run %d)" %
                  (got, bo[key], ro[key]))
        check(ro["errors"] == bo["errors"], "%s errors: none added" % name,
              "idle %d, run %d" % (bo["errors"], ro["errors"]))
    others = sorted((set(b) | set(r)) - {"NOP", "READ"})
    same = all(b.get(n, zero)["completed"] == r.get(n, zero)["completed"]
               for n in others)
    check(same, "other opcodes: the same as the idle loop (%s)" %
          ",".join(others), "idle %s run %s" % (b, r))
    for s, label in ((base, "idle"), (real, "run")):
        for o in s["ops"]:
            check(sum(o["hist_usecs_log2"]) == o["completed"],
                  "%s %s: histogram total %d equals completions" %
                  (label, o["name"], o["completed"]),
                  "histogram %d" % sum(o["hist_usecs_log2"]))
            check(o["inflight"] == 0, "%s %s: nothing left in flight" %
                  (label, o["name"]), "inflight %d" % o["inflight"])
        check(s["untracked_cqes"] == 0 and s["dropped"] == 0,
              "%s: no untracked CQE, no dropped submission" % label,
              "untracked %d dropped %d" % (s["untracked_cqes"],
                                           s["dropped"]))
        check(s["rings_created"] == 1, "%s: one ring created" % label,
              "rings_created %d" % s["rings_created"])
        check(s["cq_overflow"] == 0 and s["enobufs"] == 0,
              "%s: no CQ overflow, no ENOBUFS" % label,
              "overflow %d enobufs %d" % (s["cq_overflow"], s["enobufs"]))

    # Refusals: one line naming what is missing, a non-zero exit.
    p = subprocess.run([top, "-c", "1"], capture_output=True, text=True,
                       timeout=30, preexec_fn=lambda: os.setuid(65534))
    lines = p.stderr.splitlines()
    check(p.returncode == 1 and len(lines) == 1 and
          "must run as root" in lines[0] and not p.stdout,
          "not root: one line naming root, exit 1",
          "exit %d, stderr %r" % (p.returncode, p.stderr))
    p = subprocess.run([top, "-i", "0"], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 2 and "bad interval" in p.stderr and not p.stdout,
          "bad interval: refused, exit 2",
          "exit %d, stderr %r" % (p.returncode, p.stderr))
    p = subprocess.run([top, "-c", "1", "-i", "0.1"], capture_output=True,
                       text=True, timeout=30)
    check(p.returncode == 0 and "OPCODE" in p.stdout and
          "cq overflow" in p.stdout,
          "-c 1: one table, exit 0", "exit %d, stderr %r" %
          (p.returncode, p.stderr))

    print("TAP version 13")
    print("1..%d" % len(checks))
    failed = 0
    for i, (ok, desc, diag) in enumerate(checks, 1):
        print("%sok %d %s" % ("" if ok else "not ", i, desc))
        if not ok:
            failed += 1
            if diag:
                print("#   " + diag)
    print("# NOP %s" % json.dumps(r.get("NOP")))
    print("# READ %s" % json.dumps(r.get("READ")))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
        print("Bail out! %s" % e)
        sys.exit(1)
