"""clustertopo: several equinox instances behind a Linux ECMP router (distributed mode).

    eqx-<name>-client  10.<o>.1.2/24 --veth-- eqx-<name>-rt 10.<o>.1.1/24
                                               rt 10.<o>.0.1/24 on the switch
    eqx-<name>-lb1..N  eqx-lb0 (net_af_packet), port address 10.<o>.0.11+
    eqx-<name>-b1..M   10.<o>.0.21+, eqx-decap, http_backend.py, VIP on lo,
                       default route via the router (they answer the client directly)
    eqx-<name>-sw      br0

The router holds the VIP as a multipath route over the instances it lists
(`set_ecmp`), hashing on the 5-tuple (fib_multipath_hash_policy=1), as a
data-centre leaf does over the hosts that announce it. Everything else
(processes, clean-up, checks) comes from eqxtopo.Topology.
"""

import json
import shutil
import signal
import time
from pathlib import Path

import eqxtopo
from eqxtopo import DPDK_RUNTIME, HOST_IFACE, JUMBO_MTU, LB_IFACE, Host, TopoError, run


class Instance:
    """One equinox of the cluster: its namespace, config, socket and process."""

    def __init__(self, idx, host):
        self.idx = idx
        self.host = host
        self.proc = None
        self.config_path = None
        self.ctl_socket = None
        self.file_prefix = None

    @property
    def name(self):
        return "lb%d" % self.idx

    def alive(self):
        return self.proc is not None and self.proc.popen.poll() is None


class ClusterTopology(eqxtopo.Topology):
    def __init__(self, name, octet, instances=3, spare=1, backends=4, **kw):
        super().__init__(name, octet, backends=backends, ipv6=False, **kw)
        self.n_instances = instances + spare
        self.instances = []
        self.client_net = "10.%d.1" % octet
        self.router_ip = "%s.1" % self.net

    # -- building ------------------------------------------------------------

    def build(self):
        eqxtopo.install_handlers()
        eqxtopo._LIVE.append(self)
        eqxtopo.sweep(self.name)
        import tempfile
        self.workdir = tempfile.mkdtemp(prefix="%s-" % self.prefix)
        self.log("building cluster topology in %s.0/24 (workdir %s)" % (self.net,
                                                                           self.workdir))
        sw = self._add_ns("sw")
        run(["ip", "-n", sw, "link", "add", "br0", "type", "bridge", "stp_state", "0",
             "mcast_snooping", "0"])
        self.sysctl(sw, {"net.bridge.bridge-nf-call-iptables": 0,
                         "net.bridge.bridge-nf-call-ip6tables": 0,
                         "net.bridge.bridge-nf-call-arptables": 0}, missing_ok=True)
        run(["ip", "-n", sw, "link", "set", "br0", "up"])

        self._add_host("rt", HOST_IFACE, self.router_ip, 1, mtu=JUMBO_MTU)
        rt = self.hosts["rt"]
        self.sysctl(rt.ns, {"net.ipv4.ip_forward": 1,
                            "net.ipv4.fib_multipath_hash_policy": 1,
                            "net.ipv4.conf.all.rp_filter": 0,
                            "net.ipv4.conf.default.rp_filter": 0,
                            "net.ipv4.conf.%s.rp_filter" % HOST_IFACE: 0})
        # The client sits behind the router on a link of its own.
        cns = self._add_ns("client")
        run(["ip", "-n", rt.ns, "link", "add", "rt-c", "type", "veth", "peer", "name",
             HOST_IFACE, "netns", cns])
        run(["ip", "-n", rt.ns, "addr", "add", "%s.1/24" % self.client_net, "dev", "rt-c"])
        run(["ip", "-n", rt.ns, "link", "set", "rt-c", "up"])
        run(["ip", "-n", cns, "addr", "add", "%s.2/24" % self.client_net, "dev", HOST_IFACE])
        run(["ip", "-n", cns, "link", "set", HOST_IFACE, "up"])
        run(["ip", "-n", cns, "route", "add", "default", "via", "%s.1" % self.client_net])
        self.ethtool_tx_off(cns, HOST_IFACE)
        self.ethtool_tx_off(rt.ns, "rt-c")
        self.hosts["client"] = Host("client", cns, HOST_IFACE, "%s.2" % self.client_net,
                                    None)

        for i in range(1, self.n_instances + 1):
            self._add_host("lb%d" % i, LB_IFACE, None, 10 + i, mtu=JUMBO_MTU)
            h = self.hosts["lb%d" % i]
            h.ip = "%s.%d" % (self.net, 10 + i)
            self.instances.append(Instance(i, h))
        for i in range(1, self.n_backends + 1):
            role = "b%d" % i
            self._add_host(role, HOST_IFACE, "%s.%d" % (self.net, 20 + i), 20 + i,
                           mtu=JUMBO_MTU)
            run(["ip", "-n", self.hosts[role].ns, "route", "add", "%s.0/24" % self.client_net,
                 "via", self.router_ip])
        if self.start_backends_flag:
            for b in self.backend_names():
                self.start_backend(b)

    @property
    def lb(self):
        return self.instances[0].host

    def instance(self, idx):
        return self.instances[idx - 1]

    # -- the router ----------------------------------------------------------------

    def set_ecmp(self, members):
        """The VIP's multipath route over these instance numbers (replaces the last)."""
        rt = self.hosts["rt"].ns
        args = ["ip", "-n", rt, "route", "replace", "%s/32" % self.vip]
        for idx in members:
            args += ["nexthop", "via", self.instance(idx).host.ip, "weight", "1"]
        run(args)
        self.ecmp = list(members)
        self.log("ECMP for %s over %s" % (self.vip, ", ".join("lb%d" % i for i in members)))

    # -- instances -----------------------------------------------------------------

    def instance_config(self, idx, vips, cluster=None, workers=1):
        inst = self.instance(idx)
        prefix = "%s-lb%d" % (self.prefix, idx)
        cfg = {
            "instance": {"name": prefix, "id": idx},
            "eal": self.eal_lcores(workers) + [
                "--no-huge", "-m", "256", "--no-pci", "--file-prefix", prefix,
                "--log-level", "lib.eal:warning"],
            "dataplane": {"workers": workers, "idle": "adaptive",
                          "flow_table_size": 65536, "mbufs": 4096},
            "ports": [{"name": "p0",
                       "device": "net_af_packet0,iface=%s,qpairs=%d" % (LB_IFACE, workers),
                       "addresses": ["%s/24" % inst.host.ip],
                       "routes": [{"prefix": "%s.0/24" % self.client_net,
                                   "via": self.router_ip}]}],
            "vips": vips,
            "control": {"socket": str(Path(self.workdir) / ("lb%d.sock" % idx))},
        }
        if cluster is not None:
            cfg["cluster"] = cluster
        return cfg

    def start_instance(self, idx, cfg, wait=40):
        inst = self.instance(idx)
        if inst.alive():
            raise TopoError("lb%d already running" % idx)
        inst.config_path = self.write_config(cfg, "lb%d.json" % idx)
        inst.ctl_socket, inst.file_prefix = self._config_facts(inst.config_path)
        shutil.rmtree(DPDK_RUNTIME / inst.file_prefix, ignore_errors=True)
        inst.proc = self.spawn("lb%d" % idx, inst.host.ns,
                               [eqxtopo.equinox_bin(), "-c", inst.config_path])
        deadline = time.monotonic() + wait
        while True:
            if inst.proc.popen.poll() is not None:
                raise eqxtopo.EquinoxDied("lb%d exited with %d during start:\n%s"
                                          % (idx, inst.proc.popen.returncode,
                                             inst.proc.tail()))
            if Path(inst.ctl_socket).exists():
                cp = self.ictl(idx, "ping", check=False)
                if cp.returncode == 0:
                    break
            if time.monotonic() > deadline:
                raise TopoError("lb%d not ready within %ss:\n%s" % (idx, wait,
                                                                   inst.proc.tail()))
            time.sleep(0.2)
        self.log("lb%d ready (pid %d)" % (idx, inst.proc.popen.pid))
        return inst

    def stop_instance(self, idx, sig=signal.SIGTERM):
        inst = self.instance(idx)
        if inst.proc is None:
            return None
        rc = self.stop_proc(inst.proc, sig)
        shutil.rmtree(DPDK_RUNTIME / inst.file_prefix, ignore_errors=True)
        return rc

    def ictl(self, idx, *args, check=True, timeout=10):
        return run([eqxtopo.equinoxctl_bin(), "-s", self.instance(idx).ctl_socket]
                   + list(args), check=check, timeout=timeout)

    def ictl_json(self, idx, *args):
        cp = self.ictl(idx, *(list(args) + ["--json"]))
        return json.loads(cp.stdout)

    def cleanup(self):
        super().cleanup()
        for inst in self.instances:
            if inst.file_prefix:
                shutil.rmtree(DPDK_RUNTIME / inst.file_prefix, ignore_errors=True)
