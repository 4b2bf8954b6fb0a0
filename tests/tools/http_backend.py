#!/usr/bin/python3
"""A real HTTP/1.1 server for test backends: GET answers with the backend's name.

Keep-alive capable (protocol_version HTTP/1.1, Content-Length on every reply),
one thread per connection. Listens on all addresses by default, so it answers
both on the backend's own address and on the VIP bound to its loopback (DSR).

    http_backend.py --name b1 [--bind 0.0.0.0] [--port 80 [--port 8080 ...]]
    http_backend.py --name b1 --bind ::   (both families: IPv6 and IPv4-mapped)

GET /        -> "b1\n"
GET /size/N  -> N bytes of payload (first line "b1"), for larger transfers
HEAD         -> headers only
POST         -> "b1 N\n", N the number of body bytes received
SIGTERM/SIGINT stop it; it prints how many requests it served.
"""

import argparse
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_SIZE = 16 * 1024 * 1024


class DualStackServer(ThreadingHTTPServer):
    """An IPv6 listener that takes IPv4 too (IPV6_V6ONLY off, whatever the sysctl)."""
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "eqx-test-backend/1"

    def _body(self):
        name = self.server.backend_name
        path = self.path.split("?", 1)[0]
        if path.startswith("/size/"):
            try:
                size = int(path[len("/size/"):])
            except ValueError:
                return 400, b"bad size\n"
            if size < 0 or size > MAX_SIZE:
                return 400, b"bad size\n"
            head = (name + "\n").encode()
            if size <= len(head):
                return 200, head[:size]
            return 200, head + b"x" * (size - len(head))
        return 200, (name + "\n").encode()

    def _reply(self, send_body):
        code, body = self._body()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.backend_name)
        self.end_headers()
        if send_body:
            self.wfile.write(body)
        with self.server.count_lock:
            self.server.served += 1

    def do_GET(self):
        self._reply(True)

    def do_HEAD(self):
        self._reply(False)

    def do_POST(self):
        # Reads the whole body, so large uploads exercise full-size client segments.
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_SIZE:
            self.send_error(400, "bad Content-Length")
            return
        got = 0
        while got < length:
            chunk = self.rfile.read(min(65536, length - got))
            if not chunk:
                break
            got += len(chunk)
        body = ("%s %d\n" % (self.server.backend_name, got)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.backend_name)
        self.end_headers()
        self.wfile.write(body)
        with self.server.count_lock:
            self.server.served += 1

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="text every GET answers with")
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, action="append",
                    help="port to listen on (repeatable; default 80)")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    args = ap.parse_args()
    ports = args.port or [80]

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    cls = DualStackServer if ":" in args.bind else ThreadingHTTPServer
    count_lock = threading.Lock()
    servers = []
    for port in ports:
        srv = cls((args.bind, port), Handler)
        srv.backend_name = args.name
        srv.verbose = args.verbose
        srv.served = 0
        srv.count_lock = count_lock
        servers.append(srv)

    def stop(signum, frame):
        # shutdown() waits for serve_forever(), which runs in this thread: hand it off.
        for srv in servers:
            threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Every server but the first in a thread of its own; the first in this one.
    threads = [threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                                daemon=True) for srv in servers[1:]]
    for th in threads:
        th.start()
    print("http_backend %s listening on %s port %s" % (args.name, args.bind,
                                                       ",".join(map(str, ports))), flush=True)
    try:
        servers[0].serve_forever(poll_interval=0.2)
        for th in threads:
            th.join(timeout=5)
    finally:
        for srv in servers:
            srv.server_close()
        print("http_backend %s served %d requests" % (args.name,
                                                      sum(s.served for s in servers)),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
