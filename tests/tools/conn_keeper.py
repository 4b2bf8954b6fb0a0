#!/usr/bin/python3
"""Hold N long-lived HTTP/1.1 keep-alive connections and say which ones broke.

Every connection sends one GET every --interval seconds and expects the reply
(tests/tools/http_backend.py answers with the backend's name) before sending
the next. A connection is broken when it is reset, closed, times out waiting
for a reply (--timeout), or answers from another backend than its first reply
(which TCP cannot do: it would mean two servers shared one connection).
Broken connections are not reopened: the count only grows.

    conn_keeper.py --vip 10.235.0.100 --port 80 -n 200 [--interval 0.1]
                   [--source 10.235.1.2] [--timeout 3]

Once all are open it prints one line "ready {json}". Then, one command per line
on stdin:
    report   -> "report {json}": open, broken (total), broken_ids, by_backend,
                requests, replies, max_wait_ms (the longest a reply took since
                the previous report)
    quit     -> closes every connection and exits 0
It also exits when stdin closes.
"""

import argparse
import json
import selectors
import socket
import sys
import time


class Conn:
    def __init__(self, idx, sock):
        self.idx = idx
        self.sock = sock
        self.backend = None
        self.buf = b""
        self.sent_at = None  # waiting for a reply since
        self.next_at = 0.0
        self.broken = None  # reason
        self.replies = 0


def parse_reply(buf):
    """(backend name, rest of buf) for one whole reply in buf, or (None, buf)."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None, buf
    length = 0
    for line in buf[:head_end].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    total = head_end + 4 + length
    if len(buf) < total:
        return None, buf
    body = buf[head_end + 4:total].decode(errors="replace")
    return body.split("\n", 1)[0].strip(), buf[total:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vip", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--source", default=None)
    ap.add_argument("--connect-timeout", type=float, default=10.0)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.vip else socket.AF_INET
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(args.n):
        s = socket.socket(family, socket.SOCK_STREAM)
        if args.source:
            s.bind((args.source, 0))
        s.settimeout(args.connect_timeout)
        try:
            s.connect((args.vip, args.port))
        except OSError as e:
            print("error connection %d: %s" % (i, e), flush=True)
            return 1
        s.setblocking(False)
        c = Conn(i, s)
        c.next_at = time.monotonic() + args.interval * i / max(args.n, 1)
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
    sel.register(sys.stdin, selectors.EVENT_READ, None)

    requests = replies = 0
    max_wait = 0.0
    ready_sent = False

    def fail(c, why):
        if c.broken is None:
            c.broken = why
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()

    def summary():
        by_backend = {}
        for c in conns:
            if c.broken is None and c.backend is not None:
                by_backend[c.backend] = by_backend.get(c.backend, 0) + 1
        broken = [c for c in conns if c.broken is not None]
        return {"open": len(conns) - len(broken), "broken": len(broken),
                "broken_ids": {str(c.idx): [c.backend, c.broken] for c in broken},
                "by_backend": by_backend, "requests": requests, "replies": replies,
                "max_wait_ms": round(max_wait * 1000, 1)}

    while True:
        now = time.monotonic()
        for c in conns:
            if c.broken is not None:
                continue
            if c.sent_at is None and now >= c.next_at:
                try:
                    c.sock.send(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
                    c.sent_at = now
                    requests += 1
                except OSError as e:
                    fail(c, "send: %s" % e.__class__.__name__)
            elif c.sent_at is not None and now - c.sent_at > args.timeout:
                fail(c, "timeout")
        if not ready_sent and all(c.backend is not None or c.broken for c in conns):
            print("ready " + json.dumps(summary()), flush=True)
            ready_sent = True
        for key, _ in sel.select(timeout=0.01):
            c = key.data
            if c is None:
                line = sys.stdin.readline()
                if not line or line.strip() == "quit":
                    for c2 in conns:
                        if c2.broken is None:
                            c2.sock.close()
                    return 0
                if line.strip() == "report":
                    print("report " + json.dumps(summary()), flush=True)
                    max_wait = 0.0
                continue
            try:
                data = c.sock.recv(65536)
            except OSError as e:
                fail(c, "recv: %s" % e.__class__.__name__)
                continue
            if not data:
                fail(c, "closed")
                continue
            c.buf += data
            while True:
                name, c.buf = parse_reply(c.buf)
                if name is None:
                    break
                if c.backend is None:
                    c.backend = name
                elif name != c.backend:
                    fail(c, "moved to %s" % name)
                    break
                if c.sent_at is not None:
                    max_wait = max(max_wait, time.monotonic() - c.sent_at)
                c.sent_at = None
                c.next_at = time.monotonic() + args.interval
                c.replies += 1
                replies += 1


if __name__ == "__main__":
    sys.exit(main())
