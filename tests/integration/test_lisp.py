#!/usr/bin/python3
"""The LISP map-server and map-resolver against a real ETR/ITR, and its fast recovery.

Topology "lisp" (10.225.0.0/24, fd00:225::/64): the client is an ITR, b1..b3 are ETRs
(tests/tools/lisp_xtr.py, Python's hmac/hashlib: an implementation independent of
equinox's), equinox is the map-server at 10.225.0.10 and fd00:225::10.

  b1  site-a  HMAC-SHA-1-96, key id 1, over IPv4; 10.225.1.0/24 and fd00:225:1::/48;
      the map-server forwards requests to it (no proxy reply), and it answers the ITR
  b2  site-b  HMAC-SHA-256-128, key id 7, over IPv6; 10.225.2.0/24 and fd00:225:2::/48;
      proxy reply (P), xTR-ID and site-ID
  b3  site-c  the RFC 6833 16-bit key id (key id byte 0, algorithm 1) that deployed
      xTRs send; 10.225.3.0/24; acknowledges a restore Map-Notify but does not register
      again (so its entry stays restored and keeps its old expiry)
  site-d is configured (10.225.4.0/24) but nobody registers it; 10.225.9.0 and
  fd00:225:9:: are in no site.

Checked: every registration authenticated and notified (the Map-Notify's HMAC verified
by the ETR); `equinoxctl lisp registrations`; Map-Requests in ECMs (both families,
inner header of the other family too) forwarded to the ETR, which answers the ITR;
proxy Map-Replies; negative Map-Replies (TTL 1 for a configured unregistered site, 15
for no site, action natively-forward); a direct Map-Request; wrong key, unknown key id,
a prefix outside the site, a more specific prefix not accepted, a replayed register,
malformed messages: each rejected and counted under its reason; tshark decodes every
message equinox sent with no malformed field or expert error; /equinox/lisp telemetry.
Then the registrations are saved, equinox is killed with SIGKILL and started again while
two ITRs repeat a Map-Request every 5 ms: the first answer each gets is the correct,
positive one, and every ETR gets an authenticated Map-Notify with its records (b1 and
b2 register again at once). Last, with the state file cut in half, equinox detects it,
keeps it aside and starts empty: the first answer is then negative, which is what a
map-server without fast recovery answers until the ETRs' next register.
"""

import json
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import eqxtopo  # noqa: E402
import lisp_xtr  # noqa: E402

NAME = "lisp"
OCTET = 225
XTR = eqxtopo.REPO / "tests" / "tools" / "lisp_xtr.py"

KEY_A, KEY_B, KEY_C, KEY_D = "site-a-key", "site-b-key-256", "site-c-legacy", "site-d-key"
XTR_ID = "00112233445566778899aabbccddee02"

# tshark: what equinox sent, and whether anything in it was malformed or an expert error.
TSHARK_FIELDS = ["frame.number", "eth.src", "ip.src", "ipv6.src", "udp.srcport",
                 "udp.dstport", "lisp.type", "_ws.malformed", "_ws.expert.severity"]


def lisp_config(t, state_file):
    cfg = t.config(vips=[])
    cfg["lisp"] = {
        "enabled": True,
        "port": "p0",
        "state_file": str(state_file),
        "registration_ttl_s": 180,
        "sites": [
            {"name": "site-a",
             "keys": [{"id": 1, "algorithm": "hmac-sha1-96", "secret": KEY_A}],
             "eid_prefixes": [{"prefix": "10.225.1.0/24"},
                              {"prefix": "fd00:225:1::/48", "accept_more_specifics": True}]},
            {"name": "site-b",
             "keys": [{"id": 7, "algorithm": "hmac-sha256-128", "secret": KEY_B}],
             "eid_prefixes": [{"prefix": "10.225.2.0/24", "accept_more_specifics": True},
                              {"prefix": "fd00:225:2::/48"}]},
            {"name": "site-c",
             "keys": [{"id": 1, "algorithm": "hmac-sha1-96", "secret": KEY_C}],
             "eid_prefixes": [{"prefix": "10.225.3.0/24"}]},
            {"name": "site-d",
             "keys": [{"id": 1, "algorithm": "hmac-sha256-128", "secret": KEY_D}],
             "eid_prefixes": [{"prefix": "10.225.4.0/24"}]},
        ],
    }
    return cfg


def xtr(t, role, *args, timeout=30):
    """lisp_xtr.py in role's namespace; its last stdout line as JSON."""
    cp = t.run_in(role, [eqxtopo.PYTHON, str(XTR)] + [str(a) for a in args],
                  timeout=timeout)
    lines = [ln for ln in cp.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise eqxtopo.TopoError("lisp_xtr %s: no JSON (exit %d)\n%s%s"
                                % (args[0], cp.returncode, cp.stdout[-500:], cp.stderr[-1500:]))
    return json.loads(lines[-1])


def xtr_spawn(t, name, role, *args):
    return t.spawn(name, t.hosts[role].ns, [eqxtopo.PYTHON, str(XTR)] + [str(a) for a in args])


def events(proc):
    out = []
    for line in Path(proc.logpath).read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def wait_event(t, proc, what, pred, after=0, timeout=15):
    def find():
        evs = events(proc)[after:]
        return next((e for e in evs if pred(e)), None)
    return t.wait_for(what, find, timeout=timeout, interval=0.05)


def lisp_state(t):
    return t.ctl_json("lisp")


def regs(t):
    return {r["eid"]: r for r in t.ctl_json("lisp", "registrations")["registrations"]}


class Etrs:
    """The three ETRs, each a long-running lisp_xtr.py etr."""

    def __init__(self, t):
        self.t = t
        ms4, ms6 = t.lb_ip, t.lb_ip6
        b1, b2, b3 = t.hosts["b1"], t.hosts["b2"], t.hosts["b3"]
        self.spec = {
            "b1": ["etr", "--ms", ms4, "--bind", b1.ip, "--also-bind", b1.ip6,
                   "--rloc", b1.ip, "--rloc", b1.ip6,
                   "--key", KEY_A, "--key-id", 1, "--alg", "sha1",
                   "--eid", "10.225.1.0/24", "--eid", "fd00:225:1::/48"],
            "b2": ["etr", "--ms", ms6, "--bind", b2.ip6, "--rloc", b2.ip6, "--rloc", b2.ip,
                   "--key", KEY_B, "--key-id", 7, "--alg", "sha256", "--proxy",
                   "--xtr-id", XTR_ID, "--site-id", 42,
                   "--eid", "10.225.2.0/24", "--eid", "fd00:225:2::/48"],
            "b3": ["etr", "--ms", ms4, "--bind", b3.ip, "--key", KEY_C, "--key-id", 1,
                   "--alg", "sha1", "--legacy", "--no-reregister", "--eid", "10.225.3.0/24"],
        }
        self.procs = {}

    def start(self, role):
        self.procs[role] = xtr_spawn(self.t, "etr-%s" % role, role, *self.spec[role])
        return self.procs[role]


def request(t, eid, *extra, bind=None, ms=None, timeout=5, want="any"):
    return xtr(t, "client", "request", "--ms", ms or t.lb_ip, "--bind", bind or t.client.ip,
               "--eid", eid, "--want", want, "--timeout", timeout, *extra,
               timeout=timeout + 20)


def rec0(res):
    r = res.get("reply") or {}
    return (r.get("records") or [{}])[0]


def check_registration(c, t, etrs):
    p = {}
    for role in ("b1", "b2", "b3"):
        p[role] = etrs.start(role)
    for role, alg in (("b1", 1), ("b2", 2), ("b3", 1)):
        ev = wait_event(t, p[role], "%s's Map-Notify" % role,
                        lambda e: e.get("event") == "map_notify")
        c.check(ev["solicited"] and ev["auth_ok"] and ev["alg_id"] == alg,
                "%s: Map-Notify answers its register, HMAC verified (algorithm %d)"
                % (role, alg), ev)
    ev = [e for e in events(p["b3"]) if e.get("event") == "map_notify"][0]
    c.check(ev["key_id"] == 0 and ev["alg_id"] == 1,
            "b3 (16-bit key id): the Map-Notify echoes key id 0, algorithm 1", ev)
    ev = [e for e in events(p["b2"]) if e.get("event") == "map_notify"][0]
    c.check(sorted(r["eid"] for r in ev["records"]) ==
            ["10.225.2.0/24", "fd00:225:2::/48"] and ev["from"] == t.lb_ip6,
            "b2: the Map-Notify over IPv6 carries both registered records", ev)

    r = regs(t)
    c.check(sorted(r) == ["10.225.1.0/24", "10.225.2.0/24", "10.225.3.0/24",
                          "fd00:225:1::/48", "fd00:225:2::/48"],
            "equinoxctl lisp registrations: the five prefixes", sorted(r))
    a, b = r.get("10.225.1.0/24", {}), r.get("fd00:225:2::/48", {})
    c.check(a.get("site") == "site-a" and a.get("etr") == t.hosts["b1"].ip and
            not a.get("proxy_reply") and a.get("want_map_notify") and
            [l["address"] for l in a.get("locators", [])] ==
            [t.hosts["b1"].ip, t.hosts["b1"].ip6] and
            [l["priority"] for l in a["locators"]] == [1, 2] and
            [l["weight"] for l in a["locators"]] == [100, 90] and
            170 <= a.get("expires_in_s", 0) <= 180 and a.get("ttl_min") == 1440,
            "site-a's registration: ETR, locators with priority and weight, expiry 180 s", a)
    c.check(b.get("site") == "site-b" and b.get("proxy_reply") and
            b.get("etr") == t.hosts["b2"].ip6 and b.get("xtr_id") == XTR_ID and
            b.get("site_id") == 42 and b.get("algorithm_id") == 2 and b.get("key_id") == 7,
            "site-b's registration: proxy reply, xTR-ID, site-ID, key 7 SHA-256", b)
    return p


def check_requests(c, t, etrs):
    b1, b2 = t.hosts["b1"], t.hosts["b2"]
    before = len(events(etrs.procs["b1"]))

    # Forwarded to the ETR in an ECM; the ETR answers the ITR itself.
    res = request(t, "10.225.1.5", want="positive")
    rec = rec0(res)
    fwd = [e for e in events(etrs.procs["b1"])[before:] if e.get("event") == "forwarded_request"]
    c.check(res["ok"] and res["reply"]["from"] == b1.ip and rec["eid"] == "10.225.1.0/24" and
            rec["authoritative"] and len(rec["locators"]) == 2,
            "ECM Map-Request 10.225.1.5: forwarded to b1, whose Map-Reply reaches the ITR", res)
    c.check(len(fwd) == 1 and fwd[0]["ecm_flags"] & 0x2 and fwd[0]["from"] == t.lb_ip and
            fwd[0]["inner_src"] == t.client.ip and fwd[0]["inner_dst"] == "10.225.1.5" and
            fwd[0]["eids"] == ["10.225.1.5/32"] and fwd[0]["inner_ip_csum_ok"] and
            fwd[0]["nonce"] == res["reply"]["nonce"],
            "b1 got the request in an ECM with the E bit, the ITR's inner header kept", fwd)

    # IPv6 EID over IPv6, forwarded.
    res = request(t, "fd00:225:1::5", bind=t.client.ip6, ms=t.lb_ip6, want="positive")
    rec = rec0(res)
    c.check(res["ok"] and rec["eid"] == "fd00:225:1::/48" and res["reply"]["from"] == b1.ip6,
            "ECM Map-Request for an IPv6 EID over IPv6: forwarded, the ETR answers", res)

    # Proxy replies from the map-server (A clear, locators as registered).
    res = request(t, "10.225.2.7", want="positive")
    rec = rec0(res)
    c.check(res["ok"] and res["reply"]["from"] == t.lb_ip and rec["eid"] == "10.225.2.0/24" and
            not rec["authoritative"] and rec["ttl"] == 1440 and
            [l["address"] for l in rec["locators"]] == [b2.ip6, b2.ip],
            "ECM Map-Request 10.225.2.7: proxy Map-Reply from equinox, A clear", res)
    res = request(t, "fd00:225:2::7", bind=t.client.ip6, ms=t.lb_ip6, want="positive")
    c.check(res["ok"] and res["reply"]["from"] == t.lb_ip6 and
            rec0(res)["eid"] == "fd00:225:2::/48",
            "IPv6: proxy Map-Reply for fd00:225:2::7", res)
    # An IPv6 EID asked over IPv4 with a v6 inner header: the reply goes to the v6 ITR-RLOC.
    res = request(t, "fd00:225:2::8", "--itr-rloc", t.client.ip, "--itr-rloc", t.client.ip6,
                  "--inner-src", t.client.ip6, "--also-bind", t.client.ip6, want="positive")
    c.check(res["ok"] and res["reply"]["from"] == t.lb_ip6 and
            rec0(res)["eid"] == "fd00:225:2::/48",
            "IPv6 EID in an IPv4 ECM: proxy reply to the ITR's IPv6 RLOC", res)
    res = request(t, "10.225.2.9", "--direct", want="positive")
    c.check(res["ok"] and rec0(res)["eid"] == "10.225.2.0/24",
            "a direct Map-Request (no ECM) gets the proxy reply too", res)

    # Negative replies.
    res = request(t, "10.225.4.1", want="negative")
    rec = rec0(res)
    c.check(res["ok"] and rec["ttl"] == 1 and rec["action"] == "natively-forward" and
            rec["eid"] == "10.225.4.0/24" and not rec["authoritative"],
            "configured but unregistered site: negative reply, TTL 1 min, natively-forward",
            res)
    res = request(t, "10.225.9.9", want="negative")
    rec = rec0(res)
    c.check(res["ok"] and rec["ttl"] == 15 and rec["action"] == "natively-forward" and
            rec["locators"] == [],
            "EID of no site: negative reply, TTL 15 min (%s)" % rec.get("eid"), res)
    res = request(t, "fd00:225:9::1", bind=t.client.ip6, ms=t.lb_ip6, want="negative")
    c.check(res["ok"] and rec0(res)["ttl"] == 15,
            "IPv6 EID of no site: negative reply, TTL 15 min", res)


def rejects(t):
    return lisp_state(t)["rejects"]


def check_rejects(c, t):
    b1 = t.hosts["b1"]
    before = rejects(t)

    def reg(*args, role="b1", bind=None):
        return xtr(t, role, "register", "--ms", t.lb_ip, "--bind", bind or t.hosts[role].ip,
                   "--wait", 0.5, *args)

    cases = [
        ("bad_mac", "a wrong key", ["--eid", "10.225.1.0/24", "--key", "wrong"]),
        ("unknown_key_id", "an unknown key id",
         ["--eid", "10.225.1.0/24", "--key", KEY_A, "--key-id", 9]),
        ("eid_outside_site", "a prefix of another site signed with site-a's key",
         ["--eid", "10.225.1.0/24", "--eid", "10.225.2.0/25", "--key", KEY_A]),
        ("more_specific_not_accepted", "a more specific prefix the site does not accept",
         ["--eid", "10.225.1.128/25", "--key", KEY_A]),
        ("eid_not_in_any_site", "a prefix of no site", ["--eid", "10.225.9.0/24",
                                                         "--key", KEY_A]),
    ]
    for reason, what, args in cases:
        out = reg(*args)
        after = rejects(t)
        c.check(out["replies"] == [] and after[reason] == before[reason] + 1,
                "Map-Register with %s: no Map-Notify, counted as %s" % (what, reason),
                (out, after[reason]))
        before = after

    # A replay: the same signed bytes again. The prefix is a more specific one site-a
    # accepts, so that b1's own registrations stay as they are; withdrawn after (TTL 0).
    more = ["--eid", "fd00:225:1:99::/64", "--rloc", b1.ip, "--key", KEY_A]
    out = reg(*more, "--nonce", "0x5eed5eed5eed5eed")
    c.check(len(out["replies"]) == 1 and out["replies"][0].get("auth_ok") and
            "fd00:225:1:99::/64" in regs(t),
            "a register with a chosen nonce is accepted (a more specific prefix)", out)
    out = reg(*more, "--nonce", "0x5eed5eed5eed5eed")
    after = rejects(t)
    c.check(out["replies"] == [] and after["replay"] == before["replay"] + 1,
            "the same Map-Register replayed: rejected, counted as replay", out)
    before = after
    w0 = lisp_state(t)["counters"]["registrations_withdrawn"]
    out = reg(*more, "--ttl", 0)
    c.check(len(out["replies"]) == 1 and "fd00:225:1:99::/64" not in regs(t) and
            lisp_state(t)["counters"]["registrations_withdrawn"] == w0 + 1,
            "a register with record TTL 0 withdraws the prefix", out)

    # Malformed input: truncated, garbage (type 15), an ECM whose inner header is wrong,
    # an empty datagram, a Map-Notify sent to the map-server.
    good, _ = lisp_xtr.map_register([lisp_xtr.eid_record("10.225.1.0/24")], KEY_A)
    bad_ecm = bytes.fromhex("80000000") + bytes.fromhex("45000020") + bytes(16)
    notify = bytearray(good)
    notify[0] = 0x40
    m0 = lisp_state(t)["counters"]
    for hexs in (good[:25].hex(), "ff" * 40, bad_ecm.hex(), "", bytes(notify).hex()):
        xtr(t, "client", "send", "--ms", t.lb_ip, "--bind", t.client.ip, "--hex", hexs,
            "--wait", 0.2)
    after = rejects(t)
    m1 = lisp_state(t)["counters"]
    c.check(after["malformed"] == before["malformed"] + 3 and
            after["unknown_type"] == before["unknown_type"] + 1 and
            after["unexpected_type"] == before["unexpected_type"] + 1,
            "truncated, garbage, bad ECM and a stray Map-Notify: counted (malformed %d -> %d)"
            % (before["malformed"], after["malformed"]), after)
    c.check(m1["rx_map_notify"] == m0["rx_map_notify"] + 1 and
            m1["rx_ecm"] == m0["rx_ecm"] + 1,
            "counters by message type move with them", (m0, m1))
    c.check(len(regs(t)) == 5, "the rejected messages changed no registration")


def start_capture(t, pcap):
    # On the switch's port toward equinox: everything it sends and receives.
    cap = t.spawn("tshark", t.ns("sw"), ["tshark", "-n", "-i", "p-lb", "-f", "udp",
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


def check_tshark(c, t, pcap):
    cp = eqxtopo.run(["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=|",
                      "-E", "occurrence=a", "-E", "aggregator=,",
                      "-Y", "eth.src == %s && udp.srcport == 4342" % t.lb.mac]
                     + sum([["-e", f] for f in TSHARK_FIELDS], []), timeout=60, check=False)
    rows = [dict(zip(TSHARK_FIELDS, ln.split("|"))) for ln in cp.stdout.splitlines()
            if ln.strip()]
    types = {}
    for r in rows:
        for ty in r["lisp.type"].split(","):
            types[ty] = types.get(ty, 0) + 1
    bad = [r for r in rows if r["_ws.malformed"] or
           any(s and int(s, 0) >= 0x00600000 for s in r["_ws.expert.severity"].split(","))]
    undecoded = [r for r in rows if not r["lisp.type"]]
    # lisp.type: 2 Map-Reply, 4 Map-Notify, 8 ECM (its inner Map-Request: 1).
    c.check(len(rows) > 10 and {"2", "4", "8"} <= set(types),
            "tshark decodes equinox's Map-Reply, Map-Notify and ECM (%s)" % types, cp.stderr)
    c.check(not bad and not undecoded,
            "no malformed field or expert warning in %d messages equinox sent" % len(rows),
            (bad + undecoded)[:3])


def check_telemetry(c, t):
    out = t.telemetry("/equinox/lisp")
    v = out.get("/equinox/lisp", {})
    c.check(v.get("registrations") == 5 and "rejects" in v and "counters" in v and
            v["counters"].get("rx_map_register", 0) > 0,
            "/equinox/lisp: registrations, counters by message type and by reject reason",
            {k: v.get(k) for k in ("registrations", "restored", "recovery")})


def wait_saved(t, timeout=10):
    return t.wait_for("state file written",
                      lambda: (lambda s: s if not s["persistence"]["dirty"] else None)(
                          lisp_state(t)), timeout=timeout)


def check_recovery(c, t, etrs, state_file):
    st = wait_saved(t)
    before = regs(t)
    c.check(st["persistence"]["saves"] >= 1 and st["persistence"]["errors"] == 0 and
            state_file.exists() and state_file.stat().st_size > 64,
            "registrations written to the state file (%d bytes, %d writes)"
            % (st["persistence"]["last_bytes"], st["persistence"]["saves"]))
    ev_before = {r: len(events(p)) for r, p in etrs.procs.items()}

    t.stop_equinox(signal.SIGKILL)
    c.check(not t.equinox_alive(), "equinox killed with SIGKILL")
    # ITRs asking every 5 ms while equinox is down and while it starts.
    t0 = time.monotonic()
    itr_proxy = xtr_spawn(t, "itr-proxy", "client", "request", "--ms", t.lb_ip, "--bind",
                          t.client.ip, "--eid", "10.225.2.7", "--want", "any",
                          "--retry-ms", 5, "--timeout", 60, "--t0", t0)
    itr_fwd = xtr_spawn(t, "itr-fwd", "client", "request", "--ms", t.lb_ip, "--bind",
                        t.client.ip, "--eid", "10.225.1.9", "--want", "any",
                        "--retry-ms", 5, "--timeout", 60, "--t0", t0)
    time.sleep(0.2)
    t_exec = time.monotonic()
    t.start_equinox(path=t.config_path)
    for name, proc, eid, frm in (("proxy reply", itr_proxy, "10.225.2.0/24", t.lb_ip),
                                 ("forwarded", itr_fwd, "10.225.1.0/24", t.hosts["b1"].ip)):
        try:
            proc.popen.wait(timeout=70)
        except Exception:  # noqa: BLE001
            proc.popen.kill()
        res = events(proc)
        res = res[-1] if res else {}
        rec = rec0(res)
        replies = [m for m in res.get("seen_before", []) if m.get("type") == "map_reply"]
        c.check(res.get("ok") and rec.get("eid") == eid and rec.get("locators") and
                res["reply"]["from"] == frm and not replies,
                "after kill -9 and restart, the first answer (%s) is the correct positive one"
                % name, res)
        if res.get("ok"):
            eqxtopo.log("%s: first answer %.1f ms after equinox was started (%d requests sent)"
                        % (name, (res["reply"]["arrival"] - t_exec) * 1000, res["sent"]))
    st = lisp_state(t)
    rec = st["recovery"]
    c.check(rec["state_file"] == "loaded" and rec["loaded"] == 5,
            "the restarted equinox loaded the 5 registrations", rec)
    eqxtopo.log("equinox: state loaded %.1f ms after process start (load %d us), first answer "
                "%.1f ms after process start" % (rec["process_start_to_loaded_us"] / 1000,
                                                 rec["load_us"],
                                                 rec["process_start_to_first_answer_us"] / 1000))

    for role in ("b1", "b2", "b3"):
        ev = wait_event(t, etrs.procs[role], "%s's restore Map-Notify" % role,
                        lambda e: e.get("event") == "map_notify" and not e["solicited"],
                        after=ev_before[role], timeout=20)
        etr = t.hosts[role].addr(6 if role == "b2" else 4)
        want = sorted(e for e in before if before[e]["etr"] == etr)
        c.check(ev["auth_ok"] and sorted(r["eid"] for r in ev["records"]) == want,
                "%s: an authenticated Map-Notify with its stored records after the restart"
                % role, ev)
    for role in ("b1", "b2"):
        wait_event(t, etrs.procs[role], "%s re-registers" % role,
                   lambda e: e.get("event") == "registered" and e["why"] == "map_notify",
                   after=ev_before[role])
    after = t.wait_for("b1 and b2 re-registered",
                       lambda: (lambda r: r if not r["10.225.1.0/24"]["restored"] and
                                not r["fd00:225:2::/48"]["restored"] else None)(regs(t)))
    c3, c3b = after["10.225.3.0/24"], before["10.225.3.0/24"]
    c.check(c3["restored"] and c3["refreshed_at"] == c3b["refreshed_at"] and
            c3["expiry"] == c3b["expiry"],
            "b3 did not register again: its entry stays restored with its old expiry", c3)
    m = lisp_state(t)["counters"]
    c.check(m["restored_refreshed"] >= 4 and m["map_notify_acked"] >= 3,
            "restored entries refreshed by Map-Register (%d), restore notifies acked (%d)"
            % (m["restored_refreshed"], m["map_notify_acked"]), m)


def check_torn_file(c, t, etrs, state_file):
    wait_saved(t)
    data = state_file.read_bytes()
    t.stop_equinox(signal.SIGKILL)
    state_file.write_bytes(data[:len(data) // 2])
    t.start_equinox(path=t.config_path)
    st = lisp_state(t)
    c.check(st["recovery"]["state_file"] == "corrupt" and st["registrations"] == 0 and
            Path(str(state_file) + ".bad").exists(),
            "a state file cut in half is detected, kept aside as .bad, nothing half-loaded",
            st["recovery"])
    res = request(t, "10.225.2.7")
    rec = rec0(res)
    c.check(res["ok"] and rec.get("locators") == [] and rec.get("ttl") == 1,
            "without the state, the first answer is negative (what fast recovery avoids)", res)
    # What every map-server waits for otherwise: the ETR's next periodic register.
    n = len(events(etrs.procs["b2"]))
    etrs.procs["b2"].popen.send_signal(signal.SIGUSR1)
    wait_event(t, etrs.procs["b2"], "b2's periodic register",
               lambda e: e.get("event") == "map_notify" and e["solicited"], after=n)
    res = request(t, "10.225.2.7", want="positive")
    c.check(res["ok"], "after the ETR's next register the answer is positive again", res)


def check_ctl_and_reload(c, t, state_file):
    one = t.ctl_json("lisp", "registrations", "10.225.2.77")
    c.check(one["shown"] == 1 and one["registrations"][0]["eid"] == "10.225.2.0/24",
            "equinoxctl lisp registrations EID: the registration covering it", one)
    gen = lisp_state(t)["generation"]
    c.check("generation" in t.ctl_json("lisp", "save"), "equinoxctl lisp save")
    # A reload without site-b drops its registrations, and the state file follows.
    cfg = json.loads(t.config_path.read_text())
    cfg["lisp"]["sites"] = [s for s in cfg["lisp"]["sites"] if s["name"] != "site-b"]
    t.write_config(cfg, name=t.config_path.name)
    g0 = t.generation()
    t.sighup()
    t.wait_generation(g0)
    st = t.wait_for("site-b's registrations dropped",
                    lambda: (lambda x: x if x["counters"]["registrations_dropped_by_config"] >= 2
                             else None)(lisp_state(t)))
    left = regs(t)
    c.check(not any(r["site"] == "site-b" for r in left.values()) and
            st["sites"] == 3 and st["generation"] > gen,
            "reload without site-b: its registrations dropped and counted", sorted(left))
    st = wait_saved(t)
    c.check(oct(state_file.stat().st_mode & 0o777) == "0o600" and
            st["persistence"]["saved_generation"] == st["generation"],
            "the state file (mode 0600) follows the reload")


def body(c):
    with eqxtopo.Topology(NAME, OCTET, backends=3, start_backends=False) as t:
        state_file = Path(t.workdir) / "lisp-ms.state"
        # The ITR and ETRs know equinox's MAC for good: a restart is then timed from the
        # first frame, not from the kernels' ARP retries.
        for role in ("client", "b1", "b2", "b3"):
            for a in (t.lb_ip, t.lb_ip6):
                t.run_in(role, ["ip", "neigh", "replace", a, "lladdr", t.lb.mac, "dev",
                                t.hosts[role].ifname, "nud", "permanent"], check=True)
        pcap = str(Path(t.workdir) / "lisp.pcapng")
        cap = start_capture(t, pcap)
        t.start_equinox(lisp_config(t, state_file))
        etrs = Etrs(t)
        check_registration(c, t, etrs)
        check_requests(c, t, etrs)
        check_rejects(c, t)
        check_telemetry(c, t)
        check_recovery(c, t, etrs, state_file)
        t.stop_proc(cap, signal.SIGINT)
        check_tshark(c, t, pcap)
        check_torn_file(c, t, etrs, state_file)
        check_ctl_and_reload(c, t, state_file)
        c.check(t.stop_equinox() == 0, "equinox stops cleanly")
        st = state_file.read_bytes() if state_file.exists() else b""
        c.check(st[:8] == b"EQXLISPS", "a clean stop leaves a whole state file")


if __name__ == "__main__":
    eqxtopo.main("test_lisp", body)
