#!/usr/bin/python3
"""What equinox puts on the wire toward a backend, decoded by tshark's dissectors.

tshark captures IP protocol 4 on backend b1's veth while curl runs (small GETs and
one 200 KB upload, whose full-size client segments fill the port MTU of 1500 once
equinox's ICMP frag needed has lowered the client's path MTU to 1480).
Then `tshark -r FILE -V` (with IPv4 and TCP checksum validation on) must decode
every packet as IPv4-in-IPv4 with:
  outer src = equinox's port address, outer dst = b1, protocol 4,
  outer total length = inner total length + 20,
  Ethernet src = equinox's port MAC, dst = b1's MAC,
  inner src = client, inner dst = VIP, TCP destination port 80,
and no "Malformed" packet and no expert error anywhere.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "ipip"
OCTET = 213
REQUESTS = 30
UPLOAD = 200 * 1024

FIELDS = ["frame.number", "eth.src", "eth.dst", "ip.src", "ip.dst", "ip.proto", "ip.len",
          "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack"]
TSHARK_PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]


def start_capture(t, role, pcap):
    cap = t.spawn("tshark-%s" % role, t.hosts[role].ns,
                  ["tshark", "-n", "-i", t.hosts[role].ifname, "-f", "ip proto 4",
                   "-w", pcap])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "Capturing on" in Path(cap.logpath).read_text(errors="replace"):
            time.sleep(0.5)
            return cap
        if cap.popen.poll() is not None:
            break
        time.sleep(0.1)
    raise eqxtopo.TopoError("tshark did not start:\n%s" % cap.tail())


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=3) as t:
        t.start_equinox(t.config())
        ok, out = t.curl(timeout=10)
        c.check(ok, "first request through the VIP", out)

        b1 = t.hosts["b1"]
        pcap = str(Path(t.workdir) / "b1.pcapng")
        cap = start_capture(t, "b1", pcap)

        results = t.curl_many(REQUESTS)
        c.check(all(ok for ok, _ in results), "%d requests succeed" % REQUESTS,
                [r for ok, r in results if not ok][:3])
        to_b1 = sum(1 for ok, r in results if ok and r == "b1")
        c.check(to_b1 > 0, "b1 served some requests (%d)" % to_b1)

        # A large upload, on new connections until one lands on b1 (bounded).
        upload = Path(t.workdir) / "upload.bin"
        upload.write_bytes(b"u" * UPLOAD)
        uploaded = None
        for _ in range(12):
            cp = t.run_in("client", ["curl", "-sS", "-m", "20", "--noproxy", "*",
                                     "--data-binary", "@%s" % upload,
                                     "-H", "Content-Type: application/octet-stream",
                                     t.url()], timeout=40)
            answer = cp.stdout.strip()
            if cp.returncode != 0:
                uploaded = "curl exit %d: %s" % (cp.returncode, cp.stderr.strip())
                break
            uploaded = answer
            if answer.startswith("b1 "):
                break
        nonzero = {k: v for k, v in t.stats().get("drops", {}).items() if v}
        c.check(uploaded is not None and uploaded.endswith(" %d" % UPLOAD),
                "a %d-byte upload (full-size segments, outer packets up to the port MTU) "
                "arrives whole" % UPLOAD, "%s; equinox drops: %s" % (uploaded, nonzero))

        time.sleep(0.5)
        t.stop_proc(cap, sig=eqxtopo.signal.SIGINT, timeout=15)

        cp = eqxtopo.run(["tshark", "-n", "-r", pcap] + TSHARK_PREFS +
                         ["-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
                          "-E", "aggregator=,"] + sum([["-e", f] for f in FIELDS], []),
                         timeout=120)
        rows = [dict(zip(FIELDS, line.split("|"))) for line in cp.stdout.splitlines()
                if line.strip()]
        c.check(len(rows) >= 5 * to_b1, "captured %d IPIP packets for %d requests"
                % (len(rows), to_b1))
        bad = []
        syns = 0
        max_outer = 0
        for r in rows:
            srcs, dsts = r["ip.src"].split(","), r["ip.dst"].split(",")
            protos, lens = r["ip.proto"].split(","), r["ip.len"].split(",")
            problems = []
            if len(srcs) != 2 or len(dsts) != 2:
                problems.append("not two IPv4 headers")
            else:
                if srcs[0] != t.lb_ip:
                    problems.append("outer src %s" % srcs[0])
                if dsts[0] != b1.ip:
                    problems.append("outer dst %s" % dsts[0])
                if protos[0] != "4":
                    problems.append("outer proto %s" % protos[0])
                if dsts[1] != t.vip:
                    problems.append("inner dst %s" % dsts[1])
                if srcs[1] != t.client.ip:
                    problems.append("inner src %s" % srcs[1])
                if len(lens) == 2 and int(lens[0]) != int(lens[1]) + 20:
                    problems.append("outer len %s != inner %s + 20" % (lens[0], lens[1]))
                if len(lens) == 2:
                    max_outer = max(max_outer, int(lens[0]))
            if r["eth.src"] != t.lb.mac:
                problems.append("eth src %s" % r["eth.src"])
            if r["eth.dst"] != b1.mac:
                problems.append("eth dst %s" % r["eth.dst"])
            if r["tcp.dstport"] != "80":
                problems.append("tcp dport %s" % r["tcp.dstport"])
            if r["tcp.flags.syn"] in ("1", "True") and r["tcp.flags.ack"] in ("0", "False"):
                syns += 1
            if problems:
                bad.append("frame %s: %s" % (r["frame.number"], ", ".join(problems)))
        c.check(rows and not bad, "every packet: outer %s -> %s, inner %s -> %s:80"
                % (t.lb_ip, b1.ip, t.client.ip, t.vip), bad[:5])
        c.check(syns >= to_b1, "one SYN per connection to b1 (%d SYNs, %d requests)"
                % (syns, to_b1))
        c.check(max_outer >= 1400, "full-size segments tunnelled (largest outer packet %d)"
                % max_outer)

        cp = eqxtopo.run(["tshark", "-n", "-r", pcap, "-V"] + TSHARK_PREFS, timeout=120)
        text = cp.stdout
        c.check("Internet Protocol Version 4, Src: %s, Dst: %s" % (t.lb_ip, b1.ip) in text
                and "Internet Protocol Version 4, Src: %s, Dst: %s" % (t.client.ip, t.vip)
                in text, "tshark -V decodes outer and inner IPv4 headers")
        malformed = [ln for ln in text.splitlines() if "Malformed" in ln]
        c.check(not malformed, "no Malformed packet", malformed[:5])
        errors = [ln.strip() for ln in text.splitlines()
                  if "Expert Info (Error" in ln or "status: bad" in ln.lower()]
        c.check(not errors, "no expert error and no bad checksum", errors[:5])

        rc = t.stop_equinox()
        c.check(rc == 0, "equinox exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
