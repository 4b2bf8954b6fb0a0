#!/usr/bin/python3
"""The test hosts themselves, without equinox: topology, backend decapsulation, cleanup.

- the client reaches every backend over the bridge (ping, curl to the backend address);
- an IPIP packet (outer dst backend, inner client -> VIP TCP SYN to port 80) sent
  from the client with scapy is decapsulated by eqx-decap into the backend's TUN
  device, and the backend's kernel answers with a SYN-ACK from the VIP, straight to
  the client (DSR);
- a malformed IPIP packet is counted and dropped, and eqx-decap keeps running;
- an IPv6-in-IPv4 packet (protocol 41) is decapsulated into the TUN device too;
- over an IPv6 outer header (4in6, 6in6) and in GUE (UDP 5555, GUE 00 PP 00 00, over
  IPv4 and IPv6) a SYN to the VIP (IPv4 or IPv6) is answered by a SYN-ACK from that
  VIP, straight to the client; GUE packets with a wrong header (version, control
  bit, optional fields, flags, protocol) are counted as drop_bad_gue;
- a test process killed mid-run by SIGTERM leaves no namespace behind, and one
  killed by SIGKILL has its namespaces swept by the next run.

If this fails, the appliance tests cannot pass: fix the harness first.
"""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "hself"
OCTET = 219

SYN_PROBE = r"""
client, backend, vip, bmac, sport = sys.argv[1:6]
sport = int(sport)
sn = AsyncSniffer(iface="veth0", filter="tcp and src host %s and dst port %d" % (vip, sport))
sn.start()
time.sleep(0.5)
pkt = (Ether(src=get_if_hwaddr("veth0"), dst=bmac) / IP(src=client, dst=backend) /
       IP(src=client, dst=vip) / TCP(sport=sport, dport=80, flags="S", seq=1000))
sendp(pkt, iface="veth0")
time.sleep(2)
res = sn.stop()
for p in res:
    print("REPLY src=%s dst=%s flags=%s ack=%d ethsrc=%s" % (
        p[IP].src, p[IP].dst, p[TCP].flags, p[TCP].ack, p[Ether].src))
"""

BAD_IPIP = r"""
client, backend, bmac = sys.argv[1:4]
eth = Ether(src=get_if_hwaddr("veth0"), dst=bmac)
outer = IP(src=client, dst=backend, proto=4)
# An inner header that claims 60 bytes with only 20 present, and a 2-byte inner packet.
inner = bytes(IP(src=client, dst="10.219.0.100", len=60, proto=6))
sendp(eth / outer / Raw(inner), iface="veth0")
sendp(eth / outer / Raw(b"\x45\x00"), iface="veth0")
"""

IP6IP = r"""
client, backend, bmac = sys.argv[1:4]
sendp(Ether(src=get_if_hwaddr("veth0"), dst=bmac) / IP(src=client, dst=backend) /
      IPv6(src="fd00:219::1", dst="fd00:219::100") / TCP(dport=80, flags="S"), iface="veth0")
"""

CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import eqxtopo
with eqxtopo.Topology("hkill", 218, backends=1) as t:
    print("READY", flush=True)
    time.sleep(120)
"""


# A SYN to the VIP in each encapsulation eqx-decap takes; prints the SYN-ACKs.
ENCAP_PROBE = r"""
client, client6, backend, backend6, vip, vip6, bmac, sport, gue_port = sys.argv[1:10]
sport, gue_port = int(sport), int(gue_port)
eth = Ether(src=get_if_hwaddr("veth0"), dst=bmac)
def syn(fam, p):
    inner = IP(src=client, dst=vip) if fam == 4 else IPv6(src=client6, dst=vip6)
    return inner / TCP(sport=p, dport=80, flags="S", seq=1000)
def gue(proto):
    return Raw(bytes([0, proto, 0, 0]))
cases = {
    "4in6": eth / IPv6(src=client6, dst=backend6, nh=4) / syn(4, sport),
    "6in6": eth / IPv6(src=client6, dst=backend6, nh=41) / syn(6, sport + 1),
    "gue4in4": eth / IP(src=client, dst=backend) / UDP(sport=49152, dport=gue_port)
               / gue(4) / syn(4, sport + 2),
    "gue6in4": eth / IP(src=client, dst=backend) / UDP(sport=49153, dport=gue_port)
               / gue(41) / syn(6, sport + 3),
    "gue4in6": eth / IPv6(src=client6, dst=backend6) / UDP(sport=49154, dport=gue_port)
               / gue(4) / syn(4, sport + 4),
    "gue6in6": eth / IPv6(src=client6, dst=backend6) / UDP(sport=49155, dport=gue_port)
               / gue(41) / syn(6, sport + 5),
}
sn = AsyncSniffer(iface="veth0", filter="tcp and src port 80 and dst portrange %d-%d"
                  % (sport, sport + 5))
sn.start()
time.sleep(0.5)
for name, pkt in cases.items():
    sendp(pkt, iface="veth0")
# Bad GUE headers: version 1, control bit, Hlen 1, flags, inner protocol 6.
for hdr in (b"\x40\x04\x00\x00", b"\x20\x04\x00\x00", b"\x01\x04\x00\x00",
            b"\x00\x04\x80\x00", b"\x00\x06\x00\x00"):
    sendp(eth / IP(src=client, dst=backend) / UDP(sport=49160, dport=gue_port) / Raw(hdr)
          / syn(4, sport + 10), iface="veth0")
time.sleep(2)
for p in sn.stop():
    ip = p[IP] if IP in p else p[IPv6]
    print("REPLY dport=%d src=%s flags=%s ack=%d ethsrc=%s" % (
        p[TCP].dport, ip.src, p[TCP].flags, p[TCP].ack, p[Ether].src))
"""


def ns_with_prefix(prefix):
    return [n for n in eqxtopo.netns_list() if n.startswith(prefix)]


def killed_child(c, sig):
    here = str(Path(__file__).resolve().parent)
    p = subprocess.Popen([eqxtopo.PYTHON, "-c", CHILD, here], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    ready = False
    deadline = time.monotonic() + 60
    out = []
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        out.append(line)
        if line.startswith("READY"):
            ready = True
            break
    c.check(ready, "child built its topology", "".join(out)[-500:])
    c.check(len(ns_with_prefix("eqx-hkill-")) == 4, "child's 4 namespaces exist")
    p.send_signal(sig)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)
    p.stdout.close()
    return p.returncode


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=2) as t:
        for b in t.backends:
            cp = t.run_in("client", ["ping", "-c", "1", "-W", "2", b.ip], timeout=10)
            c.check(cp.returncode == 0, "client pings %s (%s)" % (b.role, b.ip), cp.stdout)
            ok, out = t.curl("http://%s/" % b.ip)
            c.check(ok and out == b.role, "curl to %s's own address answers %r" % (b.role, b.role),
                    out)

        b1 = t.hosts["b1"]
        cp = t.scapy("client", SYN_PROBE, args=[t.client.ip, b1.ip, t.vip, b1.mac, 41000])
        replies = [ln for ln in cp.stdout.splitlines() if ln.startswith("REPLY")]
        synack = [r for r in replies if "flags=SA" in r and "ack=1001" in r]
        c.check(synack, "IPIP SYN to the VIP via b1 is answered by a SYN-ACK", cp.stdout)
        if synack:
            c.check("src=%s " % t.vip in synack[0], "SYN-ACK comes from the VIP", synack[0])
            c.check("ethsrc=%s" % b1.mac in synack[0],
                    "SYN-ACK comes straight from b1 (DSR)", synack[0])

        t.scapy("client", BAD_IPIP, args=[t.client.ip, b1.ip, b1.mac])
        t.scapy("client", IP6IP, args=[t.client.ip, b1.ip, b1.mac])
        time.sleep(0.5)

        before = t.decap_counters("b1")
        sport = 42000
        cp = t.scapy("client", ENCAP_PROBE, args=[t.client.ip, t.client.ip6, b1.ip, b1.ip6,
                                                  t.vip, t.vip6, b1.mac, sport, t.gue_port])
        replies = [ln for ln in cp.stdout.splitlines() if ln.startswith("REPLY")]
        for i, (name, vip) in enumerate([("4in6", t.vip), ("6in6", t.vip6),
                                         ("gue4in4", t.vip), ("gue6in4", t.vip6),
                                         ("gue4in6", t.vip), ("gue6in6", t.vip6)]):
            ok = [r for r in replies if "dport=%d " % (sport + i) in r and "flags=SA" in r
                  and "ack=1001" in r and "src=%s " % vip in r and b1.mac in r]
            c.check(ok, "%s: a SYN to %s is answered by b1 from the VIP (DSR)" % (name, vip),
                    replies)
        after = t.decap_counters("b1")
        rose = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        c.check(rose.get("rx_ipip6") == 1 and rose.get("rx_ip6ip6") == 1,
                "eqx-decap counted 4in6 and 6in6 once each", rose)
        c.check(rose.get("rx_gue4") == 7 and rose.get("rx_gue6") == 2
                and rose.get("rx_gue_inner4") == 2 and rose.get("rx_gue_inner6") == 2,
                "eqx-decap counted the GUE packets by outer and inner family", rose)
        c.check(rose.get("drop_bad_gue") == 5 and rose.get("tx_tun") == 6,
                "the 5 bad GUE headers dropped (drop_bad_gue), the 6 good ones to the TUN",
                rose)
        c.check(not any(r for r in replies if "dport=%d " % (sport + 10) in r),
                "no answer to a packet behind a bad GUE header")

        time.sleep(0.5)
        decap = t.proc("b1-decap")
        c.check(decap.popen.poll() is None, "eqx-decap survives malformed IPIP")
        rc = t.stop_proc(decap)
        c.check(rc == 0, "eqx-decap exits 0 on SIGTERM", rc)
        text = Path(decap.logpath).read_text()
        counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", text))
        c.check(counts.get("rx_ipip", 0) >= 3, "eqx-decap counted the IPIP packets", counts)
        c.check(counts.get("tx_tun", 0) >= 1, "eqx-decap wrote inner packets to TUN", counts)
        c.check(counts.get("drop_bad_inner", 0) >= 2, "malformed inner packets dropped", counts)
        c.check(counts.get("rx_ip6ip", 0) >= 1 and counts.get("tx_tun", 0) >= 2,
                "IPv6-in-IPv4 (protocol 41) is decapsulated too", counts)

    c.check(not ns_with_prefix("eqx-%s-" % NAME), "no namespace left after a clean run")

    rc = killed_child(c, signal.SIGTERM)
    c.check(rc is not None, "SIGTERM'd child exited", rc)
    c.check(not ns_with_prefix("eqx-hkill-"), "SIGTERM mid-run leaves no namespace",
            ns_with_prefix("eqx-hkill-"))

    killed_child(c, signal.SIGKILL)
    c.check(len(ns_with_prefix("eqx-hkill-")) > 0, "SIGKILL leaves namespaces (expected)")
    swept = eqxtopo.sweep("hkill")
    c.check(swept and not ns_with_prefix("eqx-hkill-"), "next run sweeps them", swept)


if __name__ == "__main__":
    eqxtopo.main(NAME, body, needs_equinox=False)
