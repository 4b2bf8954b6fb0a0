#!/usr/bin/python3
"""lisp_xtr: a small LISP ETR/ITR for testing a map-server (RFC 9301), standard library only.

It builds every control message from the RFC 9301 diagrams by hand (struct, hmac,
hashlib), independently of equinox's C codecs, so a test that passes proves that two
implementations agree.

Modes (each prints JSON, one object per line):

  etr       register EID prefixes with a map-server and act as their ETR: listens on UDP
            4342 at --bind, registers at start and every --interval seconds (and on
            SIGUSR1), checks each Map-Notify's HMAC, answers an unsolicited Map-Notify
            (the map-server's "re-register now" after a restart) with a Map-Notify-Ack
            and a Map-Register, and answers Map-Requests forwarded to it in an ECM with a
            Map-Reply to the ITR. One event per line: registered, map_notify,
            notify_ack_sent, forwarded_request, map_reply_sent, bad_message.
  request   act as an ITR: a Map-Request (in an ECM unless --direct) for --eid, sent every
            --retry-ms with a fresh nonce until a reply that --want accepts arrives or
            --timeout passes; prints the result, every reply seen before it, and the
            arrival time against --t0 (CLOCK_MONOTONIC seconds, shared by every
            namespace), so that a test can time how soon a restarted map-server answers.
  register  one Map-Register (with --nonce to repeat one exactly: a replay), waiting
            --wait seconds for the Map-Notify.
  send      raw bytes (--hex) to the map-server, waiting --wait seconds for any answer.

Library use: import lisp_xtr and call map_register(), map_request(), ecm(), parse().
"""

import argparse
import hashlib
import hmac
import ipaddress
import json
import os
import select
import signal
import socket
import struct
import sys
import time

LISP_PORT = 4342
T_REQUEST, T_REPLY, T_REGISTER, T_NOTIFY, T_NOTIFY_ACK, T_ECM = 1, 2, 3, 4, 5, 8
TYPE_NAMES = {T_REQUEST: "map_request", T_REPLY: "map_reply", T_REGISTER: "map_register",
              T_NOTIFY: "map_notify", T_NOTIFY_ACK: "map_notify_ack", T_ECM: "ecm"}
AFI_IP4, AFI_IP6 = 1, 2
ALG_SHA1, ALG_SHA256 = 1, 2
AUTH_LEN = {ALG_SHA1: 12, ALG_SHA256: 16}
DIGEST = {ALG_SHA1: hashlib.sha1, ALG_SHA256: hashlib.sha256}
LOC_L, LOC_P, LOC_R = 0x04, 0x02, 0x01
ECM_E, ECM_M = 0x02, 0x01
ACT_NAMES = ["no-action", "natively-forward", "send-map-request", "drop-no-reason",
             "drop-policy-denied", "drop-authentication-failure"]


class Malformed(Exception):
    pass


# -- addresses ---------------------------------------------------------------

def afi_addr(addr):
    """AFI (16 bits) and the address, or AFI 0 for None."""
    if addr is None:
        return struct.pack("!H", 0)
    a = ipaddress.ip_address(addr)
    return struct.pack("!H", AFI_IP4 if a.version == 4 else AFI_IP6) + a.packed


def read_afi_addr(b, off):
    if len(b) < off + 2:
        raise Malformed("truncated AFI")
    afi = struct.unpack_from("!H", b, off)[0]
    off += 2
    if afi == 0:
        return None, off
    n = {AFI_IP4: 4, AFI_IP6: 16}.get(afi)
    if n is None:
        raise Malformed("unsupported AFI %d" % afi)
    if len(b) < off + n:
        raise Malformed("truncated address")
    return str(ipaddress.ip_address(b[off:off + n])), off + n


def family(addr):
    return ipaddress.ip_address(addr).version


# -- records -----------------------------------------------------------------

def locator(addr, priority=1, weight=100, mpriority=255, mweight=0, flags=LOC_R):
    return {"address": addr, "priority": priority, "weight": weight, "m_priority": mpriority,
            "m_weight": mweight, "flags": flags}


def eid_record(prefix, locators=(), ttl=1440, act=0, authoritative=True, version=0):
    net = ipaddress.ip_network(prefix, strict=False)
    b = struct.pack("!IBBBB", ttl, len(locators), net.prefixlen,
                    (act & 7) << 5 | (0x10 if authoritative else 0), 0)
    b += struct.pack("!H", version & 0x0fff) + afi_addr(str(net.network_address))
    for loc in locators:
        b += struct.pack("!BBBBBB", loc["priority"], loc["weight"], loc["m_priority"],
                         loc["m_weight"], 0, loc["flags"] & 7) + afi_addr(loc["address"])
    return b


def read_record(b, off):
    if len(b) < off + 10:
        raise Malformed("truncated record")
    ttl, nloc, mlen, actbyte, _ = struct.unpack_from("!IBBBB", b, off)
    version = struct.unpack_from("!H", b, off + 8)[0] & 0x0fff
    eid, off = read_afi_addr(b, off + 10)
    rec = {"ttl": ttl, "eid": "%s/%d" % (eid, mlen), "act": actbyte >> 5,
           "action": ACT_NAMES[actbyte >> 5] if actbyte >> 5 < len(ACT_NAMES) else "?",
           "authoritative": bool(actbyte & 0x10), "map_version": version, "locators": []}
    for _ in range(nloc):
        if len(b) < off + 6:
            raise Malformed("truncated locator")
        pr, w, mp, mw, _, fl = struct.unpack_from("!BBBBBB", b, off)
        addr, off = read_afi_addr(b, off + 6)
        rec["locators"].append({"address": addr, "priority": pr, "weight": w,
                                "m_priority": mp, "m_weight": mw, "flags": fl & 7})
    return rec, off


# -- authentication ----------------------------------------------------------

def mac(msg, alg, key, auth_off=16):
    """HMAC of msg with its Authentication Data zeroed, truncated (RFC 9301 5.6)."""
    n = AUTH_LEN[alg]
    zeroed = msg[:auth_off] + bytes(n) + msg[auth_off + n:]
    return hmac.new(key.encode() if isinstance(key, str) else key, zeroed,
                    DIGEST[alg]).digest()[:n]


def sign(msg, alg, key):
    return msg[:16] + mac(msg, alg, key) + msg[16 + AUTH_LEN[alg]:]


def verify(msg, alg, key):
    n = AUTH_LEN.get(alg)
    if n is None or len(msg) < 16 + n:
        return False
    return hmac.compare_digest(msg[16:16 + n], mac(msg, alg, key))


# -- messages ------------------------------------------------------------------

def map_register(records, key, alg=ALG_SHA1, key_id=1, nonce=None, proxy=False,
                 want_notify=True, xtr_id=None, site_id=0, legacy=False, msg_type=T_REGISTER):
    """A signed Map-Register (or Map-Notify/-Ack with msg_type). records: eid_record()
    bytes. legacy: the RFC 6833 16-bit Key ID whose value is the algorithm (the key ID
    byte 0, the algorithm byte 1 or 2), as deployed xTRs send it."""
    if nonce is None:
        nonce = struct.unpack("!Q", os.urandom(8))[0]
    flags = 0
    if msg_type == T_REGISTER:
        flags = (0x8 if proxy else 0) | (0x2 if xtr_id is not None else 0)
    elif xtr_id is not None:
        flags = 0x8  # Map-Notify's I bit sits where Map-Register's P does
    kid, aid = (0, alg) if legacy else (key_id, alg)
    b = struct.pack("!BBBB", msg_type << 4 | flags, 0,
                    1 if (want_notify and msg_type == T_REGISTER) else 0, len(records))
    b += struct.pack("!QBBH", nonce, kid, aid, AUTH_LEN[alg]) + bytes(AUTH_LEN[alg])
    b += b"".join(records)
    if xtr_id is not None:
        b += bytes.fromhex(xtr_id) + struct.pack("!Q", site_id)
    return sign(b, alg, key), nonce


def map_request(eid, itr_rlocs, nonce=None, source_eid=None, flags=0):
    """A Map-Request for eid ("a.b.c.d" or "prefix/len") from ITR-RLOCs itr_rlocs."""
    if nonce is None:
        nonce = struct.unpack("!Q", os.urandom(8))[0]
    net = ipaddress.ip_network(eid, strict=False)
    b = struct.pack("!BBBB", T_REQUEST << 4 | (flags >> 8 & 0x0f), flags & 0xc0,
                    (flags & 3) << 5 | (len(itr_rlocs) - 1), 1)
    b += struct.pack("!Q", nonce) + afi_addr(source_eid)
    for r in itr_rlocs:
        b += afi_addr(r)
    b += struct.pack("!BB", 0, net.prefixlen) + afi_addr(str(net.network_address))
    return b, nonce


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ecm(msg, src, dst, sport, dport=LISP_PORT, flags=0, ttl=64):
    """An Encapsulated Control Message: LISP header, inner IP and UDP headers, msg."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    ulen = 8 + len(msg)
    if s.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0, ttl, 17, 0, s.packed,
                         d.packed)
        ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
        pseudo = s.packed + d.packed + struct.pack("!BBH", 0, 17, ulen)
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, ulen, 17, ttl, s.packed, d.packed)
        pseudo = s.packed + d.packed + struct.pack("!IxxxB", ulen, 17)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0)
    c = _csum(pseudo + udp + msg) or 0xffff
    udp = udp[:6] + struct.pack("!H", c)
    return struct.pack("!BBBB", T_ECM << 4 | (flags & 0x0f), 0, 0, 0) + ip + udp + msg


def map_reply(nonce, records, flags=0):
    return struct.pack("!BBBBQ", T_REPLY << 4 | (flags & 0x0e), 0, 0, len(records),
                       nonce) + b"".join(records)


def parse(b):
    """A received control message as a dict (raises Malformed)."""
    if len(b) < 4:
        raise Malformed("shorter than a header")
    t = b[0] >> 4
    out = {"type": TYPE_NAMES.get(t, str(t))}
    if t == T_REPLY:
        if len(b) < 12:
            raise Malformed("truncated Map-Reply")
        out["flags"] = b[0] & 0x0f
        out["nonce"] = struct.unpack_from("!Q", b, 4)[0]
        off, recs = 12, []
        for _ in range(b[3]):
            r, off = read_record(b, off)
            recs.append(r)
        if off != len(b):
            raise Malformed("trailing bytes")
        out["records"] = recs
    elif t in (T_REGISTER, T_NOTIFY, T_NOTIFY_ACK):
        if len(b) < 16:
            raise Malformed("truncated")
        out["flags"] = b[0] & 0x0f
        out["want_notify"] = bool(b[2] & 1)
        out["nonce"], out["key_id"], out["alg_id"], alen = struct.unpack_from("!QBBH", b, 4)
        out["auth_len"] = alen
        off, recs = 16 + alen, []
        for _ in range(b[3]):
            r, off = read_record(b, off)
            recs.append(r)
        has_xtr = (t == T_REGISTER and b[0] & 0x2) or (t != T_REGISTER and b[0] & 0x8)
        if has_xtr:
            out["xtr_id"] = b[off:off + 16].hex()
            off += 24
        if off != len(b):
            raise Malformed("trailing bytes")
        out["records"] = recs
    elif t == T_REQUEST:
        if len(b) < 12:
            raise Malformed("truncated Map-Request")
        out["flags"] = (b[0] & 0x0f) << 8 | (b[1] & 0xc0) | (b[2] >> 5 & 3)
        irc = (b[2] & 0x1f) + 1
        out["nonce"] = struct.unpack_from("!Q", b, 4)[0]
        out["source_eid"], off = read_afi_addr(b, 12)
        rlocs = []
        for _ in range(irc):
            a, off = read_afi_addr(b, off)
            rlocs.append(a)
        out["itr_rlocs"] = rlocs
        eids = []
        for _ in range(b[3]):
            if len(b) < off + 2:
                raise Malformed("truncated EID record")
            mlen = b[off + 1]
            a, off = read_afi_addr(b, off + 2)
            eids.append("%s/%d" % (a, mlen))
        out["eids"] = eids
    elif t == T_ECM:
        out["flags"] = b[0] & 0x0f
        ip = b[4:]
        if len(ip) < 1:
            raise Malformed("no inner header")
        if ip[0] >> 4 == 4:
            hl = (ip[0] & 0x0f) * 4
            if len(ip) < hl + 8:
                raise Malformed("truncated inner IPv4")
            out["inner_src"] = str(ipaddress.ip_address(ip[12:16]))
            out["inner_dst"] = str(ipaddress.ip_address(ip[16:20]))
            out["inner_ip_csum_ok"] = _csum(ip[:hl]) == 0
        elif ip[0] >> 4 == 6:
            hl = 40
            if len(ip) < hl + 8:
                raise Malformed("truncated inner IPv6")
            out["inner_src"] = str(ipaddress.ip_address(ip[8:24]))
            out["inner_dst"] = str(ipaddress.ip_address(ip[24:40]))
        else:
            raise Malformed("inner header is not IP")
        sport, dport, ulen, _ = struct.unpack_from("!HHHH", ip, hl)
        out["inner_sport"], out["inner_dport"] = sport, dport
        if ulen != len(ip) - hl:
            raise Malformed("inner UDP length %d, %d bytes follow" % (ulen, len(ip) - hl))
        out["inner"] = parse(ip[hl + 8:])
        out["inner_bytes"] = ip[hl + 8:]
    return out


def jsonable(d):
    return {k: v for k, v in d.items() if not isinstance(v, bytes)}


def emit(obj):
    obj["t"] = time.monotonic()
    print(json.dumps(obj, sort_keys=True), flush=True)


def prefix_contains(prefix, eid):
    p = ipaddress.ip_network(prefix, strict=False)
    e = ipaddress.ip_network(eid, strict=False)
    return p.version == e.version and e.prefixlen >= p.prefixlen and \
        e.network_address in p


def open_socket(bind, port=0):
    fam = socket.AF_INET if family(bind) == 4 else socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, port))
    return s


# -- modes ---------------------------------------------------------------------

class Etr:
    def __init__(self, a):
        self.a = a
        self.alg = ALG_SHA256 if a.alg == "sha256" else ALG_SHA1
        self.sock = open_socket(a.bind, LISP_PORT)
        # One socket per family: a forwarded request may name an ITR-RLOC of either.
        self.socks = {family(a.bind): self.sock}
        for extra in a.also_bind or []:
            self.socks[family(extra)] = open_socket(extra, LISP_PORT)
        rlocs = a.rloc or [a.bind]
        self.locs = [locator(r, priority=1 + i, weight=100 - 10 * i,
                             flags=LOC_R | (LOC_L if r == a.bind else 0))
                     for i, r in enumerate(rlocs)]
        self.eids = eid_list(a)
        self.records = [eid_record(p, self.locs, ttl=a.ttl) for p in self.eids]
        self.nonces = set()
        self.register_now = False
        self.reregister_at = None

    def register(self, why):
        """Every prefix, a.per_message records to a Map-Register."""
        k = self.a.per_message
        for i in range(0, len(self.records), k):
            msg, nonce = map_register(self.records[i:i + k], self.a.key, self.alg,
                                      self.a.key_id, proxy=self.a.proxy,
                                      want_notify=not self.a.no_notify, xtr_id=self.a.xtr_id,
                                      site_id=self.a.site_id, legacy=self.a.legacy)
            self.nonces.add(nonce)
            self.sock.sendto(msg, (self.a.ms, LISP_PORT))
        ev = {"event": "registered", "why": why, "messages": (len(self.records) + k - 1) // k}
        if len(self.eids) <= 8:
            ev["eids"] = self.eids
        emit(ev)

    def on_notify(self, data, src, m):
        # The key the map-server chose: by the two bytes it echoed (either reading).
        alg = m["alg_id"]
        ok = alg in AUTH_LEN and m["auth_len"] == AUTH_LEN[alg] and verify(data, alg,
                                                                           self.a.key)
        solicited = m["nonce"] in self.nonces
        ev = {"event": "map_notify", "from": src[0], "sport": src[1], "nonce": m["nonce"],
              "solicited": solicited, "auth_ok": ok, "key_id": m["key_id"], "alg_id": alg,
              "n_records": len(m["records"])}
        if not self.a.quiet:
            ev["records"] = m["records"]
            ev["bytes"] = data.hex()
        emit(ev)
        if solicited or not ok:
            return
        # RFC 9301 5.7: an unsolicited Map-Notify is acknowledged, same nonce and records.
        ack = bytearray(data)
        ack[0] = T_NOTIFY_ACK << 4 | (ack[0] & 0x0f)
        ack = sign(bytes(ack), alg, self.a.key)
        self.sock.sendto(ack, (src[0], LISP_PORT))
        if not self.a.quiet:
            emit({"event": "notify_ack_sent", "to": src[0], "nonce": m["nonce"]})
        # One register of everything for a burst of restore notifies (one per ETR group).
        if not self.a.no_reregister and self.reregister_at is None:
            self.reregister_at = time.monotonic() + self.a.reregister_delay

    def on_ecm(self, data, src, m):
        inner = m["inner"]
        emit({"event": "forwarded_request", "from": src[0], "ecm_flags": m["flags"],
              "inner_src": m["inner_src"], "inner_dst": m["inner_dst"],
              "inner_sport": m["inner_sport"], "inner_dport": m["inner_dport"],
              "inner_ip_csum_ok": m.get("inner_ip_csum_ok"),
              "nonce": inner.get("nonce"), "eids": inner.get("eids"),
              "itr_rlocs": inner.get("itr_rlocs")})
        if self.a.no_answer or inner.get("type") != "map_request":
            return
        eid = inner["eids"][0]
        recs = [eid_record(p, self.locs, ttl=self.a.ttl) for p in self.eids
                if prefix_contains(p, eid)]
        if not recs:
            return
        # To the first ITR-RLOC we have a socket for, at the inner source port.
        rlocs = [r for r in inner["itr_rlocs"] if r and family(r) in self.socks]
        if not rlocs:
            emit({"event": "no_itr_rloc", "itr_rlocs": inner["itr_rlocs"]})
            return
        self.socks[family(rlocs[0])].sendto(map_reply(inner["nonce"], recs[:1]),
                                            (rlocs[0], m["inner_sport"]))
        emit({"event": "map_reply_sent", "to": rlocs[0], "port": m["inner_sport"],
              "nonce": inner["nonce"]})

    def run(self):
        signal.signal(signal.SIGUSR1, lambda s, f: setattr(self, "register_now", True))
        self.register("start")
        next_reg = time.monotonic() + self.a.interval
        end = time.monotonic() + self.a.duration
        while time.monotonic() < end:
            if self.register_now:
                self.register_now = False
                self.register("signal")
            if self.reregister_at is not None and time.monotonic() >= self.reregister_at:
                self.reregister_at = None
                self.register("map_notify")
            if time.monotonic() >= next_reg:
                self.register("period")
                next_reg = time.monotonic() + self.a.interval
            try:
                r, _, _ = select.select(list(self.socks.values()), [], [], 0.05)
            except InterruptedError:
                continue
            if not r:
                continue
            data, src = r[0].recvfrom(65535)
            try:
                m = parse(data)
            except Malformed as e:
                emit({"event": "bad_message", "from": src[0], "error": str(e),
                      "bytes": data.hex()})
                continue
            if m["type"] == "map_notify":
                self.on_notify(data, src, m)
            elif m["type"] == "ecm":
                self.on_ecm(data, src, m)
            else:
                emit({"event": "unexpected", "from": src[0], "message": jsonable(m)})


def eid_list(a):
    """--eid prefixes, then --eid-count consecutive prefixes from --eid-base."""
    out = list(a.eid or [])
    if a.eid_count:
        base = ipaddress.ip_network(a.eid_base, strict=False)
        step = base.num_addresses
        first = int(base.network_address)
        cls = ipaddress.IPv4Address if base.version == 4 else ipaddress.IPv6Address
        out += ["%s/%d" % (cls(first + i * step), base.prefixlen) for i in range(a.eid_count)]
    return out


def want_ok(want, eid, m):
    if m["type"] != "map_reply" or not m["records"]:
        return False
    r = m["records"][0]
    if want == "any":
        return True
    positive = len(r["locators"]) > 0
    if want == "negative":
        return not positive
    return positive and prefix_contains(r["eid"], eid)


def do_request(a):
    sock = open_socket(a.bind)
    port = sock.getsockname()[1]
    # The same port on an address of the other family: a reply may go to either ITR-RLOC.
    socks = [sock] + [open_socket(x, port) for x in a.also_bind or []]
    itr_rlocs = a.itr_rloc or [a.bind]
    eid_addr = a.eid.split("/")[0]
    inner_src = a.inner_src or next((r for r in itr_rlocs if family(r) == family(eid_addr)),
                                    itr_rlocs[0])
    nonces = {}
    seen = []
    sent = 0
    start = time.monotonic()
    end = start + a.timeout
    next_send = start
    result = None
    while time.monotonic() < end and result is None:
        now = time.monotonic()
        if now >= next_send:
            msg, nonce = map_request(a.eid, itr_rlocs, flags=0)
            if not a.direct:
                dst = eid_addr if family(eid_addr) == family(inner_src) else a.ms
                msg = ecm(msg, inner_src, dst, port, flags=ECM_M if a.to_ms_bit else 0)
            try:
                sock.sendto(msg, (a.ms, LISP_PORT))
            except OSError as e:  # no neighbour yet, or the map-server's host is away
                seen.append({"send_error": str(e)})
            nonces[nonce] = now
            sent += 1
            next_send = now + (a.retry_ms / 1000.0 if a.retry_ms > 0 else a.timeout + 1)
        r, _, _ = select.select(socks, [], [], max(0.0, min(next_send, end) -
                                                    time.monotonic()))
        if not r:
            continue
        data, src = r[0].recvfrom(65535)
        arrival = time.monotonic()
        try:
            m = parse(data)
        except Malformed as e:
            seen.append({"malformed": str(e), "from": src[0]})
            continue
        m["from"] = src[0]
        m["sport"] = src[1]
        m["nonce_ok"] = m.get("nonce") in nonces
        m["arrival"] = arrival
        if m["nonce_ok"] and want_ok(a.want, a.eid, m):
            result = m
        else:
            seen.append(m)
    out = {"ok": result is not None, "sent": sent, "reply": result,
           "seen_before": seen[:20], "n_seen_before": len(seen)}
    if result is not None and a.t0 is not None:
        out["elapsed_s"] = result["arrival"] - a.t0
    print(json.dumps(out, sort_keys=True), flush=True)
    return 0 if result is not None else 1


def do_register(a):
    alg = ALG_SHA256 if a.alg == "sha256" else ALG_SHA1
    sock = open_socket(a.bind)
    rlocs = a.rloc or [a.bind]
    recs = [eid_record(p, [locator(r) for r in rlocs], ttl=a.ttl) for p in eid_list(a)]
    msg, nonce = map_register(recs, a.key, alg, a.key_id, nonce=a.nonce, proxy=a.proxy,
                              want_notify=not a.no_notify, xtr_id=a.xtr_id,
                              site_id=a.site_id, legacy=a.legacy)
    return send_and_wait(sock, a.ms, msg, a.wait, extra={"nonce": nonce}, key=a.key)


def send_and_wait(sock, ms, msg, wait, extra=None, key=None):
    sock.sendto(msg, (ms, LISP_PORT))
    got = []
    end = time.monotonic() + wait
    while time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        data, src = sock.recvfrom(65535)
        try:
            m = jsonable(parse(data))
        except Malformed as e:
            m = {"malformed": str(e)}
        m["from"] = src[0]
        if key is not None and m.get("type") == "map_notify":
            m["auth_ok"] = verify(data, m["alg_id"], key)
        got.append(m)
    out = {"sent": len(msg), "replies": got}
    out.update(extra or {})
    print(json.dumps(out, sort_keys=True), flush=True)
    return 0


def do_flood(a):
    """Map-Requests in ECMs for --count EIDs from --eid-base, as fast as the map-server
    answers with at most --window unanswered: replies per second on the wire."""
    sock = open_socket(a.bind)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    base = ipaddress.ip_network(a.eid_base, strict=False)
    first, step = int(base.network_address), base.num_addresses
    cls = ipaddress.IPv4Address if base.version == 4 else ipaddress.IPv6Address
    msgs = []
    for i in range(a.messages):
        eid = str(cls(first + (i % a.count) * step + 1))
        q, _ = map_request(eid, [a.bind], nonce=i + 1)
        msgs.append(ecm(q, a.bind, eid, port))
    sent = got = positive = lost = 0
    seen = bytearray(a.messages + 1)
    t_first = time.monotonic()
    t_last = last_progress = t_first
    while got + lost < a.messages and time.monotonic() - last_progress < 2.0:
        while sent < a.messages and sent - got - lost < a.window:
            try:
                sock.sendto(msgs[sent], (a.ms, LISP_PORT))
            except BlockingIOError:
                break
            sent += 1
        r, _, _ = select.select([sock], [], [], 0.01)
        while r:
            try:
                data = sock.recv(65535)
            except BlockingIOError:
                break
            if len(data) >= 12 and data[0] >> 4 == T_REPLY:
                nonce = struct.unpack_from("!Q", data, 4)[0]
                if 0 < nonce <= a.messages and not seen[nonce]:
                    seen[nonce] = 1
                    got += 1
                    positive += 1 if len(data) > 16 and data[16] > 0 else 0
                    t_last = last_progress = time.monotonic()
        if time.monotonic() - last_progress > 0.2 and sent - got - lost > 0:
            # What is unanswered this long was lost: free the window and go on.
            lost = sent - got
            last_progress = time.monotonic()
    elapsed = max(t_last - t_first, 1e-9)
    print(json.dumps({"sent": sent, "replies": got, "positive": positive, "lost": lost,
                      "elapsed_s": elapsed, "replies_per_s": got / elapsed}), flush=True)
    return 0


def do_send(a):
    return send_and_wait(open_socket(a.bind), a.ms, bytes.fromhex(a.hex), a.wait)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)

    def common(p):
        p.add_argument("--ms", required=True, help="the map-server's address")
        p.add_argument("--bind", required=True, help="our address (the ETR's or ITR's RLOC)")

    def reg_opts(p):
        p.add_argument("--eid", action="append", help="EID prefix (repeat)")
        p.add_argument("--eid-base", help="first of --eid-count consecutive prefixes")
        p.add_argument("--eid-count", type=int, default=0)
        p.add_argument("--rloc", action="append", help="locator (repeat; default --bind)")
        p.add_argument("--key", required=True)
        p.add_argument("--key-id", type=int, default=1)
        p.add_argument("--alg", choices=["sha1", "sha256"], default="sha1")
        p.add_argument("--legacy", action="store_true",
                       help="RFC 6833 16-bit key ID = algorithm (key ID byte 0)")
        p.add_argument("--proxy", action="store_true", help="P: the map-server replies")
        p.add_argument("--no-notify", action="store_true", help="M clear")
        p.add_argument("--xtr-id", help="32 hex digits: sets I, with --site-id")
        p.add_argument("--site-id", type=int, default=0)
        p.add_argument("--ttl", type=int, default=1440, help="record TTL, minutes")

    p = sub.add_parser("etr")
    common(p)
    reg_opts(p)
    p.add_argument("--also-bind", action="append",
                   help="another address to listen on (the other family)")
    p.add_argument("--interval", type=float, default=60.0)
    p.add_argument("--duration", type=float, default=600.0)
    p.add_argument("--no-answer", action="store_true")
    p.add_argument("--no-reregister", action="store_true",
                   help="acknowledge a restore Map-Notify but do not register again")
    p.add_argument("--reregister-delay", type=float, default=0.02,
                   help="after a restore Map-Notify, register everything this much later")
    p.add_argument("--per-message", type=int, default=32, help="records per Map-Register")
    p.add_argument("--quiet", action="store_true", help="no records in the events")

    p = sub.add_parser("request")
    common(p)
    p.add_argument("--eid", required=True)
    p.add_argument("--itr-rloc", action="append")
    p.add_argument("--inner-src")
    p.add_argument("--also-bind", action="append",
                   help="also listen on this address (the other family), same port")
    p.add_argument("--direct", action="store_true", help="not in an ECM")
    p.add_argument("--to-ms-bit", action="store_true", help="ECM M bit")
    p.add_argument("--want", choices=["positive", "negative", "any"], default="any")
    p.add_argument("--retry-ms", type=float, default=0)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--t0", type=float)

    p = sub.add_parser("register")
    common(p)
    reg_opts(p)
    p.add_argument("--nonce", type=lambda s: int(s, 0))
    p.add_argument("--wait", type=float, default=1.0)

    p = sub.add_parser("flood")
    common(p)
    p.add_argument("--eid-base", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--window", type=int, default=64)

    p = sub.add_parser("send")
    common(p)
    p.add_argument("--hex", required=True)
    p.add_argument("--wait", type=float, default=0.5)

    a = ap.parse_args()
    if a.mode == "etr":
        Etr(a).run()
        return 0
    if a.mode == "request":
        return do_request(a)
    if a.mode == "register":
        return do_register(a)
    if a.mode == "flood":
        return do_flood(a)
    return do_send(a)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    sys.exit(main())
