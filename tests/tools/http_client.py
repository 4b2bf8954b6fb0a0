#!/usr/bin/python3
"""A fast HTTP client for integration tests, run inside the client namespace.

Many new connections (one GET each, sequential) in one process, so thousands take
seconds rather than a minute of curl processes; or one long-lived keep-alive
connection.

    http_client.py --host 10.217.0.100 -n 3000 [--source 10.217.0.51 ...]
        N new connections per source address (or N from the default address),
        each: connect, GET PATH, read the answer, close (the client closes first, so
        no 4-tuple is reused within a minute). Prints ONE JSON line:
        {"ok": N, "failed": N, "backends": {"b1": N, ...},
         "by_source": {"10.217.0.51": {"b1": N}}, "errors": ["...", ...],
         "elapsed_s": S}
        A backend's name is the first line of its answer (tests/tools/http_backend.py).

    http_client.py --host VIP --keepalive [--interval 0.05] [--limit 120] [--stop-file F]
        One TCP connection (never reopened): a GET every INTERVAL seconds until the
        stop file exists or LIMIT seconds pass. One JSON line per response
        {"i", "status", "body", "port", "t"}, or {"i", "error"} and exit 1 on the
        first error; finally {"done": N, "port": P}.

--host takes an IPv4 or IPv6 address (no brackets).
"""

import argparse
import http.client
import json
import os
import sys
import time
from collections import Counter


def one_request(host, port, path, timeout, source):
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        # No "Connection: close": the client closes first and keeps the TIME_WAIT, so
        # the kernel reuses no 4-tuple for a minute (a reused one would meet the old
        # connection's flow entry in the load balancer and its old backend).
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
        if r.status != 200:
            raise RuntimeError("HTTP status %d" % r.status)
        return body.split("\n", 1)[0].strip()
    finally:
        conn.close()


def many(args):
    sources = args.source or [None]
    backends = Counter()
    by_source = {}
    errors = []
    ok = failed = 0
    t0 = time.monotonic()
    for src in sources:
        per = Counter()
        for _ in range(args.n):
            try:
                name = one_request(args.host, args.port, args.path, args.timeout, src)
            except Exception as e:  # noqa: BLE001 - every failure is a count and a line
                failed += 1
                if len(errors) < 10:
                    errors.append("%s: %r" % (src or "default", e))
                continue
            ok += 1
            per[name] += 1
            backends[name] += 1
        by_source[src or "default"] = dict(per)
    print(json.dumps({"ok": ok, "failed": failed, "backends": dict(backends),
                      "by_source": by_source, "errors": errors,
                      "elapsed_s": round(time.monotonic() - t0, 3)}), flush=True)
    return 0 if failed == 0 else 1


def keepalive(args):
    conn = http.client.HTTPConnection(args.host, args.port, timeout=args.timeout)
    conn.connect()
    conn.auto_open = 0  # never reconnect silently: one TCP connection or an error
    port = conn.sock.getsockname()[1]
    t0 = time.monotonic()
    end = t0 + args.limit
    i = 0
    while time.monotonic() < end and not (args.stop_file and os.path.exists(args.stop_file)):
        try:
            conn.request("GET", args.path)
            r = conn.getresponse()
            body = r.read().decode(errors="replace").strip()
            print(json.dumps({"i": i, "status": r.status, "body": body,
                              "port": conn.sock.getsockname()[1] if conn.sock else None,
                              "t": round(time.monotonic() - t0, 3)}), flush=True)
        except Exception as e:  # noqa: BLE001 - the first error ends the connection
            print(json.dumps({"i": i, "error": repr(e),
                              "t": round(time.monotonic() - t0, 3)}), flush=True)
            return 1
        i += 1
        time.sleep(args.interval)
    print(json.dumps({"done": i, "port": port}), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--path", default="/")
    ap.add_argument("-n", type=int, default=1, help="new connections (per source)")
    ap.add_argument("--source", action="append", help="local address (repeatable)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per connection")
    ap.add_argument("--keepalive", action="store_true")
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--limit", type=float, default=120.0)
    ap.add_argument("--stop-file")
    args = ap.parse_args()
    return keepalive(args) if args.keepalive else many(args)


if __name__ == "__main__":
    sys.exit(main())
