"""hatraffic: the traffic of the HA tests and benchmark (issue 7), in namespaces.

Backends: an echo server in each backend namespace (start_echo), on the VIP:
TCP port ECHO_TCP (it first sends its name and a newline, then echoes every byte)
and UDP port ECHO_UDP (it answers every datagram with the datagram, from the VIP).

Client (Traffic): one process in the client namespace that holds N long-lived TCP
connections to VIP:ECHO_TCP, each sending an 8-byte sequence number every
`interval` s and checking that exactly those bytes come back in order, and sends
a UDP probe to VIP:ECHO_UDP `pps` times a second, noting when each answer
arrives. The harness marks windows around events (mark/end) and asks for a
report: per window, the longest time without a probe answer (the gap) and the
TCP connections that broke in it; overall, every broken connection (a reset, an
end, wrong bytes, or no echo for `stall` s) and each connection's backend.
"""

import json
import signal
import subprocess
import time
from pathlib import Path

import eqxtopo

ECHO_TCP = 7000
ECHO_UDP = 9000

ECHO_SERVER = r"""
import selectors, socket, sys
name, vip, tport, uport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ":" in vip else socket.AF_INET
sel = selectors.DefaultSelector()
ls = socket.socket(fam, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((vip, tport))
ls.listen(512)
ls.setblocking(False)
us = socket.socket(fam, socket.SOCK_DGRAM)
# Bound to the VIP: the answer leaves from it (DSR), not from the backend's address.
us.bind((vip, uport))
us.setblocking(False)
sel.register(ls, selectors.EVENT_READ, "listen")
sel.register(us, selectors.EVENT_READ, "udp")
print("echo %s listening on %s tcp %d udp %d" % (name, vip, tport, uport), flush=True)
hello = (name + "\n").encode()
while True:
    for key, _ in sel.select():
        if key.data == "listen":
            try:
                c, _ = ls.accept()
            except OSError:
                continue
            c.setblocking(False)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                c.send(hello)
            except OSError:
                c.close()
                continue
            sel.register(c, selectors.EVENT_READ, "conn")
        elif key.data == "udp":
            for _ in range(64):
                try:
                    d, a = us.recvfrom(2048)
                except BlockingIOError:
                    break
                try:
                    us.sendto(d, a)
                except OSError:
                    pass
        else:
            c = key.fileobj
            try:
                d = c.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                sel.unregister(c)
                c.close()
                continue
            try:
                c.sendall(d)
            except OSError:
                sel.unregister(c)
                c.close()
"""

CLIENT = r"""
import json, os, selectors, socket, struct, sys, time
vip, tport, uport, nconn, interval, pps, stall = (sys.argv[1], int(sys.argv[2]),
    int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]),
    float(sys.argv[7]))
fam = socket.AF_INET6 if ":" in vip else socket.AF_INET
mono = time.monotonic
sel = selectors.DefaultSelector()

class Conn:
    pass

conns = []
for i in range(nconn):
    c = Conn()
    c.i = i
    c.s = socket.create_connection((vip, tport), timeout=10)
    c.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.s.settimeout(10)
    line = b""
    while not line.endswith(b"\n"):
        d = c.s.recv(64)
        if not d:
            raise SystemExit("connection %d: closed before the backend's name" % i)
        line += d
    c.backend = line.decode().strip()
    c.port = c.s.getsockname()[1]
    c.s.setblocking(False)
    c.seq = 0
    c.expect = b""
    c.next = mono() + interval * i / max(1, nconn)
    c.last_rx = mono()
    c.broken = None
    c.echoes = 0
    sel.register(c.s, selectors.EVENT_READ, c)
    conns.append(c)

u = socket.socket(fam, socket.SOCK_DGRAM)
u.connect((vip, uport))
u.setblocking(False)
sel.register(u, selectors.EVENT_READ, "udp")
sel.register(sys.stdin, selectors.EVENT_READ, "cmd")
replies = []
sent = []
useq = 0  # probe useq is sent[useq - 1]; answered[useq] says whether it came back
answered = bytearray(1)
next_probe = mono()
step = 1.0 / pps
windows = {}
cmdbuf = b""
start = mono()
print(json.dumps({"ready": nconn, "backends": sorted(set(c.backend for c in conns))}),
      flush=True)

def brk(c, why):
    if c.broken is None:
        c.broken = (mono(), why)
        try:
            sel.unregister(c.s)
        except Exception:
            pass
        c.s.close()

def gap_in(t0, t1):
    import bisect
    lo = bisect.bisect_left(replies, t0)
    hi = bisect.bisect_right(replies, t1)
    pts = [t0] + replies[lo:hi] + [t1]
    return max(b - a for a, b in zip(pts, pts[1:])), hi - lo

def report(path):
    now = mono()
    for c in conns:
        if c.broken is None and c.expect and now - c.last_rx > stall:
            brk(c, "no echo for %.1f s" % (now - c.last_rx))
    out = {"windows": {}, "conns": nconn,
           "broken": [{"conn": c.i, "port": c.port, "backend": c.backend,
                       "at": round(c.broken[0] - start, 3), "why": c.broken[1]}
                      for c in conns if c.broken is not None],
           "backends": {}, "echoes": sum(c.echoes for c in conns),
           "probes_sent": useq, "probe_replies": len(replies)}
    for c in conns:
        out["backends"][c.backend] = out["backends"].get(c.backend, 0) + 1
    for name, (t0, t1) in windows.items():
        t1 = t1 if t1 is not None else now
        g, n = gap_in(t0, t1)
        import bisect
        first, last = bisect.bisect_left(sent, t0), bisect.bisect_right(sent, t1)
        # A probe sent in the window and never answered (the last 0.5 s may be in flight).
        lost = sum(1 for i in range(first, last)
                   if not answered[i + 1] and sent[i] < now - 0.5)
        out["windows"][name] = {
            "gap_ms": round(g * 1000, 1), "replies": n, "sent": last - first, "lost": lost,
            "broken": sum(1 for c in conns if c.broken and t0 <= c.broken[0] <= t1)}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f)
    os.replace(tmp, path)

while True:
    now = mono()
    while now >= next_probe:
        useq += 1
        answered.append(0)
        try:
            u.send(struct.pack("!QQ", useq, int(now * 1e9)))
        except OSError:
            pass
        sent.append(now)
        next_probe += step
        if next_probe < now - 0.05:
            next_probe = now  # a stall of ours: do not flood to catch up
    due = next_probe
    for c in conns:
        if c.broken is not None:
            continue
        if now >= c.next:
            c.seq += 1
            b = struct.pack("!Q", c.seq)
            try:
                c.s.send(b)
                c.expect += b
            except BlockingIOError:
                pass
            except OSError as e:
                brk(c, "send: %r" % e)
            c.next += interval
            if c.next < now:
                c.next = now + interval
        due = min(due, c.next)
    for key, _ in sel.select(max(0.0, due - mono())):
        if key.data == "udp":
            for _ in range(64):
                try:
                    d = u.recv(64)
                except OSError:
                    break
                replies.append(mono())
                if len(d) >= 8:
                    q = struct.unpack("!Q", d[:8])[0]
                    if q < len(answered):
                        answered[q] = 1
        elif key.data == "cmd":
            # os.read, not readline: a line left in a Python buffer would wait for the
            # next command, since select only sees the pipe.
            chunk = os.read(0, 4096)
            if not chunk:
                raise SystemExit(0)
            cmdbuf += chunk
            while b"\n" in cmdbuf:
                line, cmdbuf = cmdbuf.split(b"\n", 1)
                w = line.decode().split()
                if w and w[0] == "mark":
                    windows[w[1]] = (mono(), None)
                elif w and w[0] == "end":
                    windows[w[1]] = (windows[w[1]][0], mono())
                elif w and w[0] == "report":
                    report(w[1])
                elif w and w[0] == "quit":
                    raise SystemExit(0)
        else:
            c = key.data
            try:
                d = c.s.recv(4096)
            except BlockingIOError:
                continue
            except OSError as e:
                brk(c, "recv: %r" % e)
                continue
            if not d:
                brk(c, "closed by the far end")
                continue
            if not c.expect.startswith(d):
                brk(c, "wrong bytes back: %r, expected %r" % (d[:16], c.expect[:16]))
                continue
            c.expect = c.expect[len(d):]
            c.last_rx = mono()
            c.echoes += 1
"""


def start_echo(t, role, family=4):
    """The echo server in backend `role`, on the VIP of that family."""
    return t.spawn("%s-echo" % role, t.hosts[role].ns,
                   [eqxtopo.PYTHON, "-c", ECHO_SERVER, role, t.vip_addr(family), ECHO_TCP,
                    ECHO_UDP])


class Traffic:
    """The client process: N echo connections and the UDP probe, driven over stdin."""

    def __init__(self, t, nconn=100, interval=0.05, pps=1000, stall=20.0, family=4):
        self.t = t
        self.nconn = nconn
        logpath = Path(t.workdir) / "ha-client.log"
        logf = open(logpath, "w")
        try:
            p = subprocess.Popen(
                ["ip", "netns", "exec", t.client.ns, eqxtopo.PYTHON, "-c", CLIENT,
                 t.vip_addr(family), str(ECHO_TCP), str(ECHO_UDP), str(nconn), str(interval),
                 str(pps), str(stall)],
                stdin=subprocess.PIPE, stdout=logf, stderr=subprocess.STDOUT, text=True,
                start_new_session=True)
        finally:
            logf.close()
        self.proc = eqxtopo.Proc("ha-client", p, logpath)
        t.procs.append(self.proc)
        self.n_reports = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for line in Path(logpath).read_text(errors="replace").splitlines():
                if line.startswith('{"ready"'):
                    self.ready = json.loads(line)
                    return
            if p.poll() is not None:
                break
            time.sleep(0.1)
        raise eqxtopo.TopoError("the HA client did not connect:\n%s" % self.proc.tail())

    def _cmd(self, *words):
        if self.proc.popen.poll() is not None:
            raise eqxtopo.TopoError("the HA client died:\n%s" % self.proc.tail())
        self.proc.popen.stdin.write(" ".join(words) + "\n")
        self.proc.popen.stdin.flush()

    def mark(self, name):
        self._cmd("mark", name)

    def end(self, name):
        self._cmd("end", name)

    def report(self, timeout=20):
        self.n_reports += 1
        path = Path(self.t.workdir) / ("ha-report-%d-%d.json" % (self.proc.popen.pid,
                                                                  self.n_reports))
        if path.exists():
            path.unlink()
        self._cmd("report", str(path))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists():
                return json.loads(path.read_text())
            time.sleep(0.05)
        raise eqxtopo.TopoError("the HA client wrote no report:\n%s" % self.proc.tail())

    def stop(self):
        if self.proc.popen.poll() is None:
            try:
                self._cmd("quit")
                self.proc.popen.wait(timeout=10)
            except (eqxtopo.TopoError, OSError, subprocess.TimeoutExpired):
                self.proc.popen.send_signal(signal.SIGTERM)


def ha_section(t, node, key, priority=None, heartbeat_ms=20, dead_count=3, preempt=True,
               preempt_delay_ms=1000):
    """The ha section of node's config: the pair's other port address is the peer."""
    return {"enabled": True, "port": "p0",
            "peer": t.lb2_ip if node == "lb" else t.lb_ip,
            "priority": priority if priority is not None else (200 if node == "lb" else 100),
            "preempt": preempt, "preempt_delay_ms": preempt_delay_ms,
            "heartbeat_ms": heartbeat_ms, "dead_count": dead_count, "key": key}


def ha_state(t, node):
    """equinoxctl ha --json of node, or None when it does not answer."""
    try:
        cp = t.ctl("ha", "--json", node=node, check=False, timeout=5)
    except eqxtopo.TopoError:
        return None
    if cp.returncode != 0:
        return None
    try:
        return json.loads(cp.stdout)
    except ValueError:
        return None


def roles(t, nodes=("lb", "lb2")):
    """{node: role or None}, asked of each running node."""
    out = {}
    for n in nodes:
        s = ha_state(t, n) if t.equinox_alive(n) else None
        out[n] = s["role"] if s else None
    return out


def wait_roles(t, want, timeout=20):
    """Wait until every node in want (a {node: role} dict) has that role; returns the
    roles seen last and whether they matched."""
    deadline = time.monotonic() + timeout
    while True:
        got = roles(t, tuple(want))
        if all(got.get(n) == r for n, r in want.items()):
            return got, True
        if time.monotonic() > deadline:
            return got, False
        time.sleep(0.05)


def wait_settled(t, timeout=20):
    """Wait until one node is active, the other standby, both in sync, with the same
    state digest. Returns (ok, {node: ha state})."""
    deadline = time.monotonic() + timeout
    last = {}
    while True:
        last = {n: ha_state(t, n) for n in ("lb", "lb2")}
        if all(last.values()):
            rs = sorted(s["role"] for s in last.values())
            a, b = last["lb"], last["lb2"]
            if (rs == ["active", "standby"] and a["state"]["digest"] == b["state"]["digest"]
                    and a["state"]["flows"] == b["state"]["flows"]
                    and a["sync"]["backlog"] == 0 and b["sync"]["backlog"] == 0
                    and (a["sync"]["rx_synced"] if a["role"] == "standby" else
                         b["sync"]["rx_synced"])):
                return True, last
        if time.monotonic() > deadline:
            return False, last
        time.sleep(0.1)
