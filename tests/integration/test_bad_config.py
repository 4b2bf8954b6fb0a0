#!/usr/bin/python3
"""Config validation from the command line: every error reported, with its key path.

- a config with several errors exits with status 2 (both when started and with
  --check-config) and names every bad key path on stderr, one line per error;
  the same errors in libconfig syntax (*.cfg) are reported with the same paths;
- broken JSON syntax exits with status 2;
- the harness's own config (the shape every integration test writes) is valid;
- `--check-config` accepts every file shipped in config/.
No namespaces and no ports: an invalid config must be rejected before EAL starts.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "badcfg"


def base_config(workdir):
    return {
        "instance": {"name": "eqx-badcfg", "id": 1},
        "eal": ["-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
                "--file-prefix", "eqx-badcfg", "--log-level", "lib.eal:warning"],
        "dataplane": {"workers": 1, "idle": "adaptive", "flow_table_size": 65536,
                      "mbufs": 8192},
        "ports": [{"name": "p0", "device": "net_af_packet0,iface=eqx-lb0,qpairs=1",
                   "addresses": ["10.216.0.10/24"]}],
        "vips": [{"name": "web", "address": "10.216.0.100", "protocol": "tcp", "port": 80,
                  "forwarding": "ipip",
                  "backends": [{"address": "10.216.0.21", "weight": 1, "state": "active"},
                               {"address": "10.216.0.22", "weight": 1, "state": "active"}]}],
        "control": {"socket": str(Path(workdir) / "ctl.sock")},
    }


# (mutation, key path that must appear in the error output)
ERRORS = [
    (lambda c: c["vips"][0]["backends"][1].__setitem__("address", "not-an-ip"),
     "vips[0].backends[1].address"),
    (lambda c: c["vips"][0].__setitem__("port", 70000), "vips[0].port"),
    (lambda c: c["dataplane"].__setitem__("workers", "two"), "dataplane.workers"),
    (lambda c: c["ports"][0]["addresses"].__setitem__(0, "10.216.0.300/24"),
     "ports[0].addresses[0]"),
    (lambda c: c["vips"][0].__setitem__("bogus_key", 1), "bogus_key"),
]


def to_libconfig(value, indent=0):
    """A JSON value in libconfig syntax: objects are groups, lists of scalars arrays."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = ["{"]
        for k, v in value.items():
            lines.append("%s  %s = %s;" % (pad, k, to_libconfig(v, indent + 1)))
        lines.append(pad + "}")
        return "\n".join(lines)
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return "[" + ", ".join(to_libconfig(v) for v in value) + "]"
        return "(" + ", ".join(to_libconfig(v, indent + 1) for v in value) + ")"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def cfg_file_text(cfg):
    return "\n".join("%s = %s;" % (k, to_libconfig(v)) for k, v in cfg.items()) + "\n"


def equinox(*args, timeout=30):
    try:
        return subprocess.run([str(eqxtopo.equinox_bin())] + list(args), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, "", "timed out after %ss" % timeout)


def check_invalid(c, path, what):
    for args in (["-c", str(path)], ["-c", str(path), "--check-config"]):
        cp = equinox(*args)
        label = "%s: equinox %s" % (what, " ".join(args[2:]) or "(start)")
        c.check(cp.returncode == 2, "%s exits with status 2" % label,
                "status %d, stderr: %s" % (cp.returncode, cp.stderr[-600:]))
        err_lines = cp.stderr.splitlines()
        for _, key in ERRORS:
            hits = [ln for ln in err_lines if key in ln]
            c.check(hits, "%s reports %s" % (label, key), cp.stderr[-800:])
        # "one line per error": no two error paths share a line
        for ln in err_lines:
            keys = [k for _, k in ERRORS if k in ln]
            if len(keys) > 1:
                c.fail("%s puts one error per line" % label, ln)


def body(c):
    workdir = Path(tempfile.mkdtemp(prefix="eqx-%s-" % NAME))
    try:
        good = base_config(workdir)
        p = workdir / "good.json"
        p.write_text(json.dumps(good, indent=2))
        cp = equinox("-c", str(p), "--check-config")
        c.check(cp.returncode == 0, "the harness's config shape passes --check-config",
                cp.stderr[-800:])
        p = workdir / "good.cfg"
        p.write_text(cfg_file_text(good))
        cp = equinox("-c", str(p), "--check-config")
        c.check(cp.returncode == 0, "the same config in libconfig syntax passes",
                cp.stderr[-800:])

        bad = base_config(workdir)
        for mutate, _ in ERRORS:
            mutate(bad)
        p = workdir / "bad.json"
        p.write_text(json.dumps(bad, indent=2))
        check_invalid(c, p, "bad.json")
        p = workdir / "bad.cfg"
        p.write_text(cfg_file_text(bad))
        check_invalid(c, p, "bad.cfg")

        p = workdir / "syntax.json"
        p.write_text('{"instance": {"name": "x",}\n')
        cp = equinox("-c", str(p), "--check-config")
        c.check(cp.returncode == 2 and cp.stderr.strip(),
                "broken JSON exits 2 with a message", "status %d: %s"
                % (cp.returncode, cp.stderr[-300:]))
        cp = equinox("-c", str(workdir / "missing.json"), "--check-config")
        c.check(cp.returncode != 0 and cp.stderr.strip(), "a missing file fails with a message",
                "status %d" % cp.returncode)

        shipped = sorted(list((eqxtopo.REPO / "config").glob("*.json")) +
                         list((eqxtopo.REPO / "config").glob("*.cfg")))
        c.check(shipped, "config/ ships example configs")
        for f in shipped:
            cp = equinox("-c", str(f), "--check-config")
            c.check(cp.returncode == 0, "--check-config %s exits 0" % f.relative_to(eqxtopo.REPO),
                    "status %d: %s" % (cp.returncode, cp.stderr[-600:]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
