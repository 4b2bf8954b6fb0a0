"""eqxtopo: network-namespace topologies for equinox integration tests and the demo.

One L2 segment per topology: a Linux bridge in a switch namespace, and one
namespace per host joined to it by a veth pair created directly inside the
namespaces (nothing is ever created in the root namespace):

    eqx-<name>-client   10.<octet>.0.1/24      fd00:<octet>::1/64     curl, scapy, http_client.py
    eqx-<name>-lb       eqx-lb0, no kernel IP                          equinox (net_af_packet)
    eqx-<name>-b1..bN   10.<octet>.0.21+/24    fd00:<octet>::21+/64   eqx-decap -> dtun0,
                                                                       http_backend.py, VIPs on lo
    eqx-<name>-sw       br0                                            the switch
    eqx-<name>-lb2      eqx-lb0, no kernel IP                          a second equinox (lb2=True)

equinox owns 10.<octet>.0.10 and fd00:<octet>::10 on its DPDK port, and the VIPs
10.<octet>.0.100 and fd00:<octet>::100. Every backend has both VIPs on lo (and
answers neither ARP nor ND for them) and runs eqx-decap, which takes IPIP over
either family and GUE (UDP port `gue_port`) into its TUN device: so one backend
serves `ipip`, `gue` and `l2dsr` VIPs of both families. IPv6 addresses are added
without duplicate address detection (usable at once); router solicitations are
off. `ipv6=False` gives the IPv4-only hosts of the first harness.
With lb2=True a second equinox namespace joins the same bridge: it owns
10.<octet>.0.11 and fd00:<octet>::11 (an HA pair with the first); the methods
that start, stop and ask equinox take node="lb2" for it, and default to the
first ("lb") exactly as before.
Every name carries the topology's name, so parallel tests and the demo never
collide; a test's stale namespaces from a killed run are swept at start.
Everything created is removed on success, on exception, on SIGTERM/SIGINT/SIGHUP
(the handlers turn them into SystemExit) and at interpreter exit (atexit).
Every wait is bounded.

Usage:
    with Topology("topo", 211) as t:
        t.start_equinox(t.config())
        print(t.curl())
"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"
HTTP_BACKEND = REPO / "tests" / "tools" / "http_backend.py"
HTTP_CLIENT = REPO / "tests" / "tools" / "http_client.py"
DECAP_SRC = REPO / "tests" / "tools" / "eqx_decap.c"
LB_IFACE = "eqx-lb0"
HOST_IFACE = "veth0"
JUMBO_MTU = 9000
DPDK_RUNTIME = Path("/var/run/dpdk")
GUE_PORT = 5555


class TopoError(Exception):
    """A topology step or a bounded wait failed."""


class EquinoxDied(TopoError):
    """equinox exited while the harness expected it to run."""


def build_dir():
    return Path(os.environ.get("EQX_BUILD_DIR", REPO / "build"))


def equinox_bin():
    return build_dir() / "src" / "equinox"


def equinoxctl_bin():
    return build_dir() / "src" / "ctl" / "equinoxctl"


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(args, check=True, timeout=30, input=None, capture=True):
    """Run a command (list), bounded by timeout; returns CompletedProcess."""
    try:
        # Own session: a terminal's Ctrl-C reaches only the harness, which then stops
        # everything in order (and bounded commands finish or time out on their own).
        cp = subprocess.run(args, input=input, timeout=timeout, text=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.PIPE if capture else None,
                            start_new_session=True)
    except subprocess.TimeoutExpired as e:
        raise TopoError("timed out after %ss: %s" % (timeout, " ".join(map(str, args)))) from e
    if check and cp.returncode != 0:
        raise TopoError("failed (%d): %s\n%s%s" % (cp.returncode, " ".join(map(str, args)),
                                                  cp.stdout or "", cp.stderr or ""))
    return cp


def netns_list():
    cp = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in (cp.stdout or "").splitlines() if line.strip()]


def netns_pids(ns):
    cp = run(["ip", "netns", "pids", ns], check=False, timeout=10)
    return [int(p) for p in (cp.stdout or "").split() if p.isdigit()]


def _kill_pids(pids, wait=5.0):
    """SIGTERM the given pids (all ours: they live in our namespaces), then SIGKILL."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if Path("/proc/%d" % p).exists() and not _is_zombie(p)]
        if alive:
            time.sleep(0.1)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def delete_netns(ns):
    pids = netns_pids(ns)
    if pids:
        _kill_pids(pids)
    run(["ip", "netns", "del", ns], check=False, timeout=15)


def sweep(name):
    """Remove namespaces left by an earlier, killed run of topology `name`."""
    pat = re.compile(r"^eqx-%s-[a-z0-9]+$" % re.escape(name))
    stale = [ns for ns in netns_list() if pat.match(ns)]
    for ns in stale:
        log("sweeping stale namespace %s" % ns)
        delete_netns(ns)
    for d in Path(tempfile.gettempdir()).glob("eqx-%s-*" % name):
        if d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
    return stale


def decap_bin(workdir):
    """The built eqx-decap, or one compiled from source (before meson has run)."""
    built = build_dir() / "tests" / "tools" / "eqx-decap"
    if built.exists():
        return built
    out = Path(workdir) / "eqx-decap"
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise TopoError("no eqx-decap in %s and no C compiler to build it" % built)
    run([cc, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(out),
         str(DECAP_SRC)], timeout=120)
    return out


# One connection, one GET answered, then idle until the stop file exists. Prints
# {"port", "backend", "seq"}: seq = the server's next sequence number (all acked),
# which an ICMP error must quote for the backend's kernel to believe it.
HOLD = r"""
import json, os, socket, sys, time
from scapy.all import AsyncSniffer, IP, IPv6, TCP, conf
conf.verb = 0
family, vip, vport, stop_file = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(10)
s.connect((vip, vport))
port = s.getsockname()[1]
sn = AsyncSniffer(iface="veth0", filter="tcp and src port %d and dst port %d" % (vport, port))
sn.start()
time.sleep(0.5)
s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1].endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
time.sleep(0.3)
pkts = sn.stop()
def seg_end(p):
    l3 = p[IP].len - p[IP].ihl * 4 if IP in p else p[IPv6].plen
    return (p[TCP].seq + l3 - p[TCP].dataofs * 4) & 0xffffffff
nxt = max(seg_end(p) for p in pkts if TCP in p)
print(json.dumps({"port": port, "backend": data.split(b"\r\n\r\n", 1)[1].decode().strip(),
                  "seq": nxt}), flush=True)
end = time.monotonic() + 120
while not os.path.exists(stop_file) and time.monotonic() < end:
    time.sleep(0.1)
s.close()
"""

# An ICMP error from a "router" to the VIP about VIP:vport -> client:port.
SEND_ICMP = r"""
family, lbmac, router, vip, vport, client, port, seq, mtu = sys.argv[1:10]
vport, port, seq, mtu = int(vport), int(port), int(seq), int(mtu)
eth = Ether(src=get_if_hwaddr("veth0"), dst=lbmac)
if family == "4":
    quoted = IP(src=vip, dst=client, ttl=63) / TCP(sport=vport, dport=port, flags="A", seq=seq)
    pkt = eth / IP(src=router, dst=vip) / ICMP(type=3, code=4, nexthopmtu=mtu) / quoted
else:
    quoted = IPv6(src=vip, dst=client, hlim=63) / TCP(sport=vport, dport=port, flags="A",
                                                     seq=seq)
    pkt = eth / IPv6(src=router, dst=vip) / ICMPv6PacketTooBig(mtu=mtu) / quoted
sendp(pkt, iface="veth0")
"""

ICMP_FIELDS = ["frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "icmp.type",
               "icmp.code", "icmpv6.type", "tcp.srcport", "tcp.dstport"]


def icmp_rows(pcap):
    """The packets of a capture as dicts of ICMP_FIELDS (tshark; inner headers of an
    ICMP error's quote follow the outer ones, comma-separated)."""
    cp = run(["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=|",
              "-E", "occurrence=a", "-E", "aggregator=,"]
             + sum([["-e", f] for f in ICMP_FIELDS], []), timeout=60, check=False)
    return [dict(zip(ICMP_FIELDS, ln.split("|"))) for ln in cp.stdout.splitlines()
            if ln.strip()]


# -- the live-topology registry: cleanup on exit and on signals ------------

_LIVE = []
_HANDLERS_INSTALLED = False


def _cleanup_all():
    for topo in list(_LIVE):
        try:
            topo.cleanup()
        except Exception:  # noqa: BLE001 - cleanup must go on
            traceback.print_exc()


def _on_signal(signum, frame):
    # Ignore repeats so a second Ctrl-C cannot cut cleanup short.
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    log("signal %d: cleaning up" % signum)
    raise SystemExit(128 + signum)


def install_handlers():
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    atexit.register(_cleanup_all)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)
    _HANDLERS_INSTALLED = True


class Host:
    def __init__(self, role, ns, ifname, ip, mac, ip6=None):
        self.role = role
        self.ns = ns
        self.ifname = ifname
        self.ip = ip
        self.ip6 = ip6
        self.mac = mac

    def addr(self, family=4):
        """The host's address of that family (4 or 6)."""
        return self.ip6 if family == 6 else self.ip

    def __repr__(self):
        return "Host(%s %s %s %s %s)" % (self.role, self.ns, self.ip, self.ip6, self.mac)


class Proc:
    def __init__(self, name, popen, logpath):
        self.name = name
        self.popen = popen
        self.logpath = logpath

    def tail(self, n=30):
        try:
            lines = Path(self.logpath).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


class _NodeState:
    """A second equinox's process, control socket, EAL prefix and config path."""

    def __init__(self):
        self.equinox = None
        self.ctl_socket = None
        self.file_prefix = None
        self.config_path = None


class Topology:
    """A client, an equinox namespace and N backends on one bridge."""

    def __init__(self, name, octet, backends=3, start_backends=True, quiet=False, ipv6=True,
                 gue_port=GUE_PORT, http_ports=(80,), lb2=False):
        if not re.match(r"^[a-z0-9]{1,10}$", name):
            raise ValueError("topology name must be 1-10 of [a-z0-9]: %r" % name)
        if not 200 <= octet <= 254:
            raise ValueError("octet must be in 200..254 (10.2xx.0.0/24)")
        self.name = name
        self.octet = octet
        self.net = "10.%d.0" % octet
        self.prefix = "eqx-%s" % name
        self.vip = "%s.100" % self.net
        self.lb_ip = "%s.10" % self.net
        self.ipv6 = ipv6
        self.net6 = "fd00:%d:" % octet  # + ":host"
        self.vip6 = "%s:100" % self.net6 if ipv6 else None
        self.lb_ip6 = "%s:10" % self.net6 if ipv6 else None
        self.with_lb2 = lb2
        self.lb2_ip = "%s.11" % self.net
        self.lb2_ip6 = "%s:11" % self.net6 if ipv6 else None
        # The second equinox's process, socket, EAL prefix and config (node="lb2").
        self.peers = {"lb2": _NodeState()} if lb2 else {}
        self.gue_port = gue_port
        self.http_ports = tuple(http_ports)
        self.client_aliases = []
        self.n_backends = backends
        self.start_backends_flag = start_backends
        self.quiet = quiet
        self.hosts = {}
        self.namespaces = []
        self.procs = []
        self.equinox = None
        self.ctl_socket = None
        self.file_prefix = None
        self.config_path = None
        self.workdir = None
        self.failed = False
        self._cleaned = False

    # -- context manager ---------------------------------------------------

    def __enter__(self):
        try:
            self.build()
        except BaseException:
            self.failed = True
            self.dump_logs()
            self.cleanup()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
            self.dump_logs()
        self.cleanup()
        return False

    def log(self, msg):
        if not self.quiet:
            log("%s: %s" % (self.prefix, msg))

    # -- naming ------------------------------------------------------------

    def ns(self, role):
        return "%s-%s" % (self.prefix, role)

    def mac(self, host_octet):
        return "02:00:0a:%02x:00:%02x" % (self.octet, host_octet)

    @property
    def client(self):
        return self.hosts["client"]

    @property
    def lb(self):
        return self.hosts["lb"]

    @property
    def backends(self):
        return [self.hosts["b%d" % i] for i in range(1, self.n_backends + 1)]

    def backend_names(self):
        return ["b%d" % i for i in range(1, self.n_backends + 1)]

    def vip_addr(self, family=4):
        return self.vip6 if family == 6 else self.vip

    def role_of(self, address):
        """The role ("b2") of the host with that address, or None."""
        for h in self.hosts.values():
            if address in (h.ip, h.ip6):
                return h.role
        return None

    # -- building ------------------------------------------------------------

    def build(self):
        install_handlers()
        _LIVE.append(self)
        sweep(self.name)
        self.workdir = tempfile.mkdtemp(prefix="%s-" % self.prefix)
        self.log("building in %s (workdir %s)" % (self.net + ".0/24", self.workdir))

        sw = self._add_ns("sw")
        # No multicast snooping: equinox joins no group for the addresses it answers ND
        # for, and a snooping bridge could keep neighbour solicitations from it.
        run(["ip", "-n", sw, "link", "add", "br0", "type", "bridge", "stp_state", "0",
             "mcast_snooping", "0"])
        # A plain L2 switch: br_netfilter (built in here) would otherwise validate IPv4
        # headers and silently eat the malformed frames that tests send on purpose.
        self.sysctl(sw, {"net.bridge.bridge-nf-call-iptables": 0,
                         "net.bridge.bridge-nf-call-ip6tables": 0,
                         "net.bridge.bridge-nf-call-arptables": 0}, missing_ok=True)
        run(["ip", "-n", sw, "link", "set", "br0", "up"])

        self._add_host("client", HOST_IFACE, "%s.1" % self.net, 1, mtu=1500)
        self._add_host("lb", LB_IFACE, None, 10, mtu=JUMBO_MTU)
        if self.with_lb2:
            self._add_host("lb2", LB_IFACE, None, 11, mtu=JUMBO_MTU)
            self.hosts["lb2"].ip = self.lb2_ip
            self.hosts["lb2"].ip6 = self.lb2_ip6
        for i in range(1, self.n_backends + 1):
            self._add_host("b%d" % i, HOST_IFACE, "%s.%d" % (self.net, 20 + i), 20 + i,
                           mtu=JUMBO_MTU)
        self.hosts["lb"].ip = self.lb_ip
        self.hosts["lb"].ip6 = self.lb_ip6
        if self.start_backends_flag:
            for b in self.backend_names():
                self.start_backend(b)

    # IPv6 on a host: usable addresses at once (no DAD), no router solicitations or
    # autoconfiguration, so the only IPv6 noise equinox sees is ND and MLD.
    IPV6_ON = {"net.ipv6.conf.all.disable_ipv6": 0,
               "net.ipv6.conf.default.disable_ipv6": 0,
               "net.ipv6.conf.all.accept_dad": 0,
               "net.ipv6.conf.default.accept_dad": 0,
               "net.ipv6.conf.all.accept_ra": 0,
               "net.ipv6.conf.default.accept_ra": 0,
               "net.ipv6.conf.all.router_solicitations": 0,
               "net.ipv6.conf.default.router_solicitations": 0,
               "net.ipv6.conf.all.forwarding": 0}
    IPV6_OFF = {"net.ipv6.conf.all.disable_ipv6": 1,
                "net.ipv6.conf.default.disable_ipv6": 1}

    def _add_ns(self, role, ipv6=False):
        ns = self.ns(role)
        run(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        # IPv6 only where a host has kernel addresses: the switch and equinox's
        # namespace stay silent (no router solicitations, DAD or MLD as noise).
        self.sysctl(ns, self.IPV6_ON if ipv6 else self.IPV6_OFF)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        return ns

    def _add_host(self, role, ifname, ip, host_octet, mtu):
        has_ip6 = self.ipv6 and ip is not None
        ns = self._add_ns(role, ipv6=has_ip6)
        sw = self.ns("sw")
        swport = "p-%s" % role
        mac = self.mac(host_octet)
        run(["ip", "-n", sw, "link", "add", swport, "mtu", str(JUMBO_MTU), "type", "veth",
             "peer", "name", ifname, "netns", ns, "address", mac, "mtu", str(mtu)])
        run(["ip", "-n", sw, "link", "set", swport, "master", "br0", "up"])
        run(["ip", "-n", ns, "link", "set", ifname, "up"])
        # Kernel veths hand AF_PACKET partial checksums unless tx offload is off.
        self.ethtool_tx_off(ns, ifname)
        self.ethtool_tx_off(sw, swport)
        ip6 = None
        if ip is not None:
            run(["ip", "-n", ns, "addr", "add", "%s/24" % ip, "dev", ifname])
        if has_ip6:
            ip6 = "%s:%d" % (self.net6, host_octet)
            run(["ip", "-n", ns, "addr", "add", "%s/64" % ip6, "dev", ifname, "nodad"])
        self.hosts[role] = Host(role, ns, ifname, ip, mac, ip6)

    def add_client_addresses(self, n):
        """n more client addresses (10.<octet>.0.51.. and fd00:<octet>::51..); returns
        them as a list of (ipv4, ipv6-or-None)."""
        out = []
        c = self.client
        for i in range(len(self.client_aliases), len(self.client_aliases) + n):
            ip = "%s.%d" % (self.net, 51 + i)
            run(["ip", "-n", c.ns, "addr", "add", "%s/24" % ip, "dev", c.ifname])
            ip6 = None
            if self.ipv6:
                ip6 = "%s:%d" % (self.net6, 51 + i)
                run(["ip", "-n", c.ns, "addr", "add", "%s/64" % ip6, "dev", c.ifname,
                     "nodad"])
            out.append((ip, ip6))
        self.client_aliases += out
        return out

    @staticmethod
    def ethtool_tx_off(ns, ifname):
        run(["ip", "netns", "exec", ns, "ethtool", "-K", ifname, "tx", "off"])

    @staticmethod
    def sysctl(ns, values, missing_ok=False):
        args = ["ip", "netns", "exec", ns, "sysctl", "-q", "-w"] + (["-e"] if missing_ok else [])
        args += ["%s=%s" % (k, v) for k, v in values.items()]
        run(args)

    def start_backend(self, role, decap=True):
        """TUN + eqx-decap + VIPs on lo + http_backend.py in backend namespace `role`.
        decap=False: no TUN and no decapsulator (enough for l2dsr)."""
        h = self.hosts[role]
        ns = h.ns
        if decap:
            run(["ip", "netns", "exec", ns, "ip", "tuntap", "add", "dev", "dtun0", "mode",
                 "tun"])
            run(["ip", "-n", ns, "link", "set", "dtun0", "up"])
        run(["ip", "-n", ns, "addr", "add", "%s/32" % self.vip, "dev", "lo"])
        if self.ipv6:
            # On lo the kernel accepts packets for it from any device (the TUN, or
            # veth0 for l2dsr) and answers no neighbour solicitation for it on veth0.
            run(["ip", "-n", ns, "addr", "add", "%s/128" % self.vip6, "dev", "lo", "nodad"])
        rp = {} if not decap else {"net.ipv4.conf.dtun0.rp_filter": 0}
        self.sysctl(ns, dict(rp, **{
            # Inner packets arrive on dtun0 from clients routed via veth0.
            "net.ipv4.conf.all.rp_filter": 0,
            "net.ipv4.conf.default.rp_filter": 0,
            "net.ipv4.conf.%s.rp_filter" % h.ifname: 0,
            # DSR: the VIP on lo must not be answered for in ARP (equinox owns it).
            "net.ipv4.conf.all.arp_ignore": 1,
            "net.ipv4.conf.all.arp_announce": 2,
        }))
        if decap:
            args = [str(decap_bin(self.workdir)), "--tun", "dtun0"]
            if self.gue_port:
                args += ["--gue-port", str(self.gue_port)]
            if not self.ipv6:
                args += ["--no-ipv6"]
            self.spawn("%s-decap" % role, ns, args)
        self.start_http(role)
        self.log("backend %s up at %s%s" % (role, h.ip, " and %s" % h.ip6 if h.ip6 else ""))

    def start_http(self, role, wait=15):
        """(Re)start backend role's HTTP server (all addresses, both families)."""
        h = self.hosts[role]
        args = [PYTHON, str(HTTP_BACKEND), "--name", role]
        if self.ipv6:
            args += ["--bind", "::"]
        for port in self.http_ports:
            args += ["--port", str(port)]
        self.spawn("%s-http" % role, h.ns, args)
        deadline = time.monotonic() + wait
        while True:
            cp = self.run_in(role, ["curl", "-s", "-m", "2", "--noproxy", "*",
                                    "http://127.0.0.1/"], check=False, timeout=5)
            if cp.returncode == 0 and cp.stdout.strip() == role:
                break
            if time.monotonic() > deadline:
                raise TopoError("backend %s http server not answering" % role)
            time.sleep(0.1)

    def stop_http(self, role):
        """Stop backend role's HTTP server: its port then answers SYNs with RST."""
        p = self.proc("%s-http" % role)
        if p is not None:
            self.stop_proc(p)

    def decap_counters(self, role, timeout=5):
        """The counters of role's eqx-decap (SIGUSR1 makes it print them), as a dict."""
        p = self.proc("%s-decap" % role)
        if p is None or p.popen.poll() is not None:
            raise TopoError("no running eqx-decap in %s" % role)
        before = Path(p.logpath).read_text(errors="replace").count("eqx-decap: rx_")
        p.popen.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = Path(p.logpath).read_text(errors="replace")
            lines = [ln for ln in text.splitlines() if ln.startswith("eqx-decap: rx_")]
            if len(lines) > before:
                return dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1]))
            time.sleep(0.05)
        raise TopoError("eqx-decap in %s printed no counters:\n%s" % (role, p.tail()))

    # -- processes -----------------------------------------------------------

    def spawn(self, name, ns, args, env=None):
        logpath = Path(self.workdir) / ("%s.log" % name)
        n = 1
        while logpath.exists():
            n += 1
            logpath = Path(self.workdir) / ("%s.%d.log" % (name, n))
        logf = open(logpath, "w")
        try:
            p = subprocess.Popen(["ip", "netns", "exec", ns] + list(map(str, args)),
                                 stdout=logf, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        finally:
            logf.close()
        proc = Proc(name, p, logpath)
        self.procs.append(proc)
        return proc

    def proc(self, name):
        """The latest process spawned under that name (a restarted one replaces it)."""
        for p in reversed(self.procs):
            if p.name == name:
                return p
        return None

    def stop_proc(self, proc, sig=signal.SIGTERM, timeout=10):
        """Signal a process we spawned and wait (bounded); returns its exit status."""
        if proc.popen.poll() is None:
            proc.popen.send_signal(sig)
            try:
                proc.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=5)
                raise TopoError("%s did not exit within %ss of signal %d"
                                % (proc.name, timeout, sig))
        return proc.popen.returncode

    def run_in(self, role, args, check=False, timeout=30, input=None):
        return run(["ip", "netns", "exec", self.hosts[role].ns] + list(map(str, args)),
                   check=check, timeout=timeout, input=input)

    # -- equinox -------------------------------------------------------------

    def vip_config(self, name="web", family=4, backends=None, forwarding="ipip", port=80,
                   weights=None, **extra):
        """One entry of `vips`: the VIP of that family; backends: addresses (default:
        every backend's address of the VIP's family); weights: one per backend."""
        if backends is None:
            backends = [b.addr(family) for b in self.backends]
        if weights is None:
            weights = [1] * len(backends)
        vip = {
            "name": name,
            "address": self.vip_addr(family),
            "protocol": "tcp",
            "port": port,
            "forwarding": forwarding,
            "backends": [{"address": a, "weight": w, "state": "active"}
                         for a, w in zip(backends, weights)],
        }
        vip.update(extra)
        return vip

    @staticmethod
    def eal_lcores(workers):
        """EAL lcore arguments: the control lcore and `workers` worker lcores, spread
        over this machine's CPUs (--lcores maps more lcores than CPUs)."""
        if workers == 1:
            return ["-l", "0-1"]
        ncpu = max(1, os.cpu_count() or 1)
        cpus = ["0@0"] + ["%d@%d" % (i, (1 + (i - 1) % (ncpu - 1)) if ncpu > 1 else 0)
                          for i in range(1, workers + 1)]
        return ["--lcores", ",".join(cpus)]

    def config(self, backends=None, workers=1, vip_extra=None, vips=None, port_extra=None,
               node="lb"):
        """The default equinox config for this topology, as a dict: one IPIP VIP
        "web" on the IPv4 VIP (backends: addresses), or the given `vips` list.
        node="lb2": the second equinox's (its addresses, instance id 2, its own EAL
        prefix and control socket)."""
        if vips is None:
            vip = self.vip_config(backends=backends if backends is not None
                                  else [b.ip for b in self.backends])
            if vip_extra:
                vip.update(vip_extra)
            vips = [vip]
        second = node == "lb2"
        addresses = ["%s/24" % (self.lb2_ip if second else self.lb_ip)]
        if self.ipv6:
            addresses.append("%s/64" % (self.lb2_ip6 if second else self.lb_ip6))
        prefix = self.prefix + ("-2" if second else "")
        port = {
            "name": "p0",
            "device": "net_af_packet0,iface=%s,qpairs=%d" % (LB_IFACE, workers),
            "addresses": addresses,
        }
        if port_extra:
            port.update(port_extra)
        return {
            "instance": {"name": prefix, "id": 2 if second else 1},
            "eal": self.eal_lcores(workers) + [
                "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix,
                "--log-level", "lib.eal:warning"],
            "dataplane": {"workers": workers, "idle": "adaptive",
                          "flow_table_size": 65536, "mbufs": 8192},
            "ports": [port],
            "vips": vips,
            "control": {"socket": str(Path(self.workdir) /
                                      ("ctl2.sock" if second else "ctl.sock"))},
        }

    def write_config(self, cfg, name="equinox.json"):
        """Write cfg (dict, or str written verbatim) atomically; returns its path."""
        path = Path(self.workdir) / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(cfg if isinstance(cfg, str) else json.dumps(cfg, indent=2) + "\n")
        os.replace(tmp, path)
        return path

    @staticmethod
    def _config_facts(path):
        """(control socket, EAL file prefix) of a JSON config file."""
        cfg = json.loads(Path(path).read_text())
        sock = cfg.get("control", {}).get("socket")
        eal = cfg.get("eal", [])
        prefix = None
        for i, arg in enumerate(eal):
            if arg == "--file-prefix" and i + 1 < len(eal):
                prefix = eal[i + 1]
            elif arg.startswith("--file-prefix="):
                prefix = arg.split("=", 1)[1]
        return sock, prefix

    def _node(self, node):
        """Where a node's process, socket, prefix and config live: the topology
        itself for "lb" (its attributes as they always were), a _NodeState for lb2."""
        if node == "lb":
            return self
        if node not in self.peers:
            raise TopoError("no equinox node %r in this topology (lb2=True?)" % node)
        return self.peers[node]

    def start_equinox(self, cfg=None, path=None, wait=40, node="lb"):
        """Start equinox in the lb (or lb2) namespace and wait until its control socket
        answers."""
        st = self._node(node)
        if st.equinox is not None and st.equinox.popen.poll() is None:
            raise TopoError("equinox already running")
        if path is None:
            path = self.write_config(cfg if cfg is not None else self.config(node=node),
                                     name="equinox.json" if node == "lb" else
                                     "equinox-%s.json" % node)
        st.config_path = Path(path)
        st.ctl_socket, st.file_prefix = self._config_facts(path)
        if not equinox_bin().exists():
            raise TopoError("%s not built (scripts/build)" % equinox_bin())
        if st.ctl_socket:
            Path(st.ctl_socket).parent.mkdir(parents=True, exist_ok=True)
        if st.file_prefix:
            shutil.rmtree(DPDK_RUNTIME / st.file_prefix, ignore_errors=True)
        st.equinox = self.spawn("equinox" if node == "lb" else "equinox-%s" % node,
                                self.hosts[node].ns, [equinox_bin(), "-c", path])
        self.log("equinox%s started (pid %d, config %s)"
                 % ("" if node == "lb" else " " + node, st.equinox.popen.pid, path))
        deadline = time.monotonic() + wait
        last = ""
        while True:
            rc = st.equinox.popen.poll()
            if rc is not None:
                raise EquinoxDied("equinox exited with %d during start:\n%s"
                                  % (rc, st.equinox.tail()))
            if st.ctl_socket and Path(st.ctl_socket).exists():
                cp = run([equinoxctl_bin(), "-s", st.ctl_socket, "stats", "--json"],
                         check=False, timeout=5)
                if cp.returncode == 0:
                    try:
                        json.loads(cp.stdout)
                        break
                    except ValueError:
                        last = "stats --json is not JSON: %r" % cp.stdout[:200]
                else:
                    last = cp.stderr.strip()
            if time.monotonic() > deadline:
                raise TopoError("equinox not ready within %ss (%s):\n%s"
                                % (wait, last, st.equinox.tail()))
            time.sleep(0.2)
        self.log("equinox%s ready" % ("" if node == "lb" else " " + node))
        return st.equinox

    def equinox_alive(self, node="lb"):
        st = self._node(node)
        return st.equinox is not None and st.equinox.popen.poll() is None

    def stop_equinox(self, sig=signal.SIGTERM, timeout=15, node="lb"):
        """Stop equinox with sig; returns its exit status (0 expected)."""
        st = self._node(node)
        if st.equinox is None:
            return None
        rc = self.stop_proc(st.equinox, sig, timeout)
        self.log("equinox%s exited with %s" % ("" if node == "lb" else " " + node, rc))
        return rc

    def ctl(self, *args, check=True, timeout=10, node="lb"):
        return run([equinoxctl_bin(), "-s", self._node(node).ctl_socket] + list(args),
                   check=check, timeout=timeout)

    def ctl_json(self, *args, node="lb"):
        cp = self.ctl(*(list(args) + ["--json"]), node=node)
        try:
            return json.loads(cp.stdout)
        except ValueError as e:
            raise TopoError("equinoxctl %s --json: not JSON: %r" % (" ".join(args),
                                                                    cp.stdout[:300])) from e

    def stats(self, node="lb"):
        return self.ctl_json("stats", node=node)

    def vips(self):
        return self.ctl_json("vips")

    def generation(self):
        return int(self.stats()["generation"])

    def sighup(self):
        self.equinox.popen.send_signal(signal.SIGHUP)

    def wait_generation(self, above, timeout=15):
        """Wait until stats' generation exceeds `above`; returns it, or raises."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.equinox_alive():
                raise EquinoxDied("equinox died:\n%s" % self.equinox.tail())
            gen = self.generation()
            if gen > above:
                return gen
            if time.monotonic() > deadline:
                raise TopoError("generation still %d after %ss" % (gen, timeout))
            time.sleep(0.1)

    def telemetry(self, *commands, timeout=15):
        """Run dpdk-telemetry.py -f PREFIX with commands; returns {command: value}."""
        cp = run(["dpdk-telemetry.py", "-f", self.file_prefix],
                 input="".join(c + "\n" for c in commands), timeout=timeout)
        out = {}
        for line in cp.stdout.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            out.update(json.loads(line))
        return out

    # -- client helpers ---------------------------------------------------------

    def url(self, path="/", family=4, port=80):
        if family == 6:
            return "http://[%s]:%d%s" % (self.vip6, port, path)
        return "http://%s:%d%s" % (self.vip, port, path) if port != 80 else \
            "http://%s%s" % (self.vip, path)

    def http_many(self, n, host=None, port=80, path="/", sources=None, timeout=5,
                  role="client", wait=None):
        """n new connections (per source address, if sources are given) with
        tests/tools/http_client.py in role's namespace, one GET each. Returns its JSON:
        {"ok", "failed", "backends": {name: n}, "by_source": {addr: {name: n}},
         "errors": [...], "elapsed_s"}."""
        args = [PYTHON, str(HTTP_CLIENT), "--host", host or self.vip, "--port", str(port),
                "--path", path, "-n", str(n), "--timeout", str(timeout)]
        for s in sources or []:
            args += ["--source", s]
        per = max(1, len(sources or []))
        cp = self.run_in(role, args, timeout=wait or (n * per * (timeout + 1) + 30))
        try:
            return json.loads(cp.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as e:
            raise TopoError("http_client.py: no JSON (exit %d):\n%s%s"
                            % (cp.returncode, cp.stdout[-500:], cp.stderr[-1500:])) from e

    def keepalive(self, name, host=None, port=80, interval=0.05, limit=120, role="client"):
        """Start a long-lived keep-alive connection (http_client.py --keepalive):
        one GET every `interval` s on ONE TCP connection, a JSON line per response,
        until stop_keepalive(). Returns the Proc."""
        stop_file = Path(self.workdir) / ("%s.stop" % name)
        proc = self.spawn(name, self.hosts[role].ns,
                          [PYTHON, str(HTTP_CLIENT), "--host", host or self.vip,
                           "--port", str(port), "--keepalive", "--interval", str(interval),
                           "--limit", str(limit), "--stop-file", str(stop_file)])
        proc.stop_file = stop_file
        return proc

    @staticmethod
    def keepalive_records(proc):
        out = []
        for line in Path(proc.logpath).read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def keepalive_first(self, proc, timeout=15):
        """The first record of a keep-alive connection (its first response or error)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            recs = self.keepalive_records(proc)
            if recs:
                return recs[0]
            if proc.popen.poll() is not None:
                break
            time.sleep(0.05)
        return None

    def stop_keepalive(self, proc, timeout=15):
        """Stop it; returns (exit status, records)."""
        proc.stop_file.write_text("stop\n")
        try:
            rc = proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            rc = None
        return rc, self.keepalive_records(proc)

    def start_capture(self, role, pcap, bpf, iface=None, wait=30):
        """tshark -w pcap on role's interface (or iface) with a capture filter; returns
        the Proc once tshark captures. Stop it with stop_proc(proc, signal.SIGINT)."""
        h = self.hosts[role]
        cap = self.spawn("tshark-%s" % role, h.ns,
                         ["tshark", "-n", "-i", iface or h.ifname, "-f", bpf, "-w", pcap])
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if "Capturing on" in Path(cap.logpath).read_text(errors="replace"):
                time.sleep(0.5)
                return cap
            if cap.popen.poll() is not None:
                break
            time.sleep(0.1)
        raise TopoError("tshark did not start:\n%s" % cap.tail())

    def backend_json(self, vip_name, address):
        """vips --json's entry of backend `address` in VIP `vip_name` (or None)."""
        for v in self.vips().get("vips", []):
            if v.get("name") != vip_name:
                continue
            for b in v.get("backends", []):
                if b.get("address") == address:
                    return b
        return None

    def wait_for(self, what, pred, timeout=15, interval=0.1):
        """Poll pred() until it returns a true value (returned), bounded; raises."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if self.equinox is not None and not self.equinox_alive():
                raise EquinoxDied("equinox died:\n%s" % self.equinox.tail())
            last = pred()
            if last:
                return last
            if time.monotonic() > deadline:
                raise TopoError("%s: not within %ss" % (what, timeout))
            time.sleep(interval)

    def hold_connection(self, name, family=4, port=80, timeout=20):
        """Open one TCP connection from the client to the VIP, answer one GET, keep
        it open and idle. Returns (Proc, {"port", "backend", "seq"}), seq being the
        backend's next sequence number; write proc.stop_file to close it."""
        stop = Path(self.workdir) / ("%s.stop" % name)
        p = self.spawn(name, self.client.ns, [PYTHON, "-c", HOLD, family,
                                              self.vip_addr(family), port, stop])
        p.stop_file = stop
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in Path(p.logpath).read_text(errors="replace").splitlines():
                if line.startswith("{"):
                    return p, json.loads(line)
            if p.popen.poll() is not None:
                break
            time.sleep(0.1)
        raise TopoError("hold connection failed:\n%s" % p.tail())

    def send_icmp_error(self, family, client_port, seq, mtu, router=None, vport=80):
        """From the client namespace (a router on the return path): ICMP frag needed
        (IPv4) or ICMPv6 packet too big to the VIP, quoting VIP:vport -> client:port."""
        if router is None:
            router = "%s.254" % self.net if family == 4 else "%s:254" % self.net6
        self.scapy("client", SEND_ICMP, args=[family, self.lb.mac, router,
                                              self.vip_addr(family), vport,
                                              self.client.addr(family), client_port, seq,
                                              mtu])

    def curl(self, url=None, timeout=5, role="client"):
        """One request with curl from role; returns (ok, body or error text)."""
        cp = self.run_in(role, ["curl", "-sS", "-m", str(timeout), "--noproxy", "*",
                                url or self.url()], timeout=timeout + 10)
        if cp.returncode == 0:
            return True, cp.stdout.strip()
        return False, "curl exit %d: %s" % (cp.returncode, cp.stderr.strip())

    def curl_many(self, n, url=None, per_request_timeout=5, role="client"):
        """n requests, one new connection (one curl) each, run by one shell in the
        client namespace. Returns a list of n (ok, body-or-error) tuples."""
        script = ('i=0; while [ "$i" -lt "$1" ]; do '
                  'if out=$(curl -sS -m "$2" --noproxy "*" "$3" 2>&1); '
                  'then echo "ok $out"; else echo "fail $? $out"; fi; '
                  'i=$((i+1)); done')
        cp = self.run_in(role, ["sh", "-c", script, "curl_many", str(n),
                                str(per_request_timeout), url or self.url()],
                         timeout=n * (per_request_timeout + 1) + 30)
        results = []
        for line in cp.stdout.splitlines():
            if line.startswith("ok "):
                results.append((True, line[3:].strip()))
            elif line.startswith("fail "):
                results.append((False, line[5:].strip()))
        while len(results) < n:
            results.append((False, "no result"))
        return results

    def scapy(self, role, code, args=(), timeout=60):
        """Run scapy code in a namespace (conf.verb=0, `from scapy.all import *` done);
        args arrive as sys.argv[1:]."""
        prog = "import sys, time\nfrom scapy.all import *\nconf.verb = 0\n" + code
        return self.run_in(role, [PYTHON, "-c", prog] + [str(a) for a in args],
                           check=True, timeout=timeout)

    # -- diagnostics and cleanup -------------------------------------------------

    def dump_logs(self, n=40):
        for p in self.procs:
            text = p.tail(n)
            if text:
                print("----- %s (last %d lines) -----\n%s" % (p.name, n, text), flush=True)

    def cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        for p in reversed(self.procs):
            if p.popen.poll() is None:
                p.popen.terminate()
        deadline = time.monotonic() + 10
        for p in reversed(self.procs):
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.popen.kill()
                try:
                    p.popen.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        for ns in reversed(self.namespaces):
            delete_netns(ns)
        for st in [self] + list(self.peers.values()):
            if st.file_prefix:
                shutil.rmtree(DPDK_RUNTIME / st.file_prefix, ignore_errors=True)
            if st.ctl_socket:
                try:
                    os.unlink(st.ctl_socket)
                except OSError:
                    pass
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self in _LIVE:
            _LIVE.remove(self)
        left = [ns for ns in netns_list() if ns.startswith(self.prefix + "-")]
        if left:
            print("WARNING: namespaces left behind: %s" % " ".join(left), file=sys.stderr)
        else:
            self.log("cleaned up")


# -- a tiny test runner: checks, counts, exit status ----------------------------

SKIP = 77  # meson's exit status for a skipped test


class Checks:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("PASS: %s" % what, flush=True)
        else:
            self.failed += 1
            print("FAIL: %s%s" % (what, (": " + str(detail)) if detail else ""), flush=True)
        return bool(cond)

    def fail(self, what, detail=""):
        return self.check(False, what, detail)


def main(name, body, needs_equinox=True):
    """Run body(checks) as test `name`; exit 0 pass, 1 fail, 77 skip."""
    checks = Checks(name)
    if os.geteuid() != 0:
        print("SKIP: %s needs root (network namespaces)" % name)
        sys.exit(SKIP)
    if needs_equinox and not equinox_bin().exists():
        print("FAIL: %s: %s is not built" % (name, equinox_bin()))
        sys.exit(1)
    t0 = time.monotonic()
    try:
        body(checks)
    except SystemExit as e:
        if e.code == SKIP:
            print("SKIP: %s" % name)
            sys.exit(SKIP)
        checks.fail("%s interrupted" % name, "exit %s" % e.code)
    except Exception as e:  # noqa: BLE001 - report every failure as a test failure
        traceback.print_exc()
        checks.fail("%s raised %s" % (name, type(e).__name__), e)
    _cleanup_all()
    print("%s: %d passed, %d failed (%.1fs)" % (name, checks.passed, checks.failed,
                                                 time.monotonic() - t0), flush=True)
    sys.exit(0 if checks.failed == 0 and checks.passed > 0 else 1)
