#!/usr/bin/python3
"""The bare-metal systemd units pass `systemd-analyze verify`.

systemd is not PID 1 on the test machines, so the units are verified, not run.
verify checks that every Exec binary exists: the unit's /usr/local/bin/equinox (where
`ninja install` puts it) is pointed at the built binary in a copy of the unit.
The unit's ExecStartPre (--check-config) is run for real on config/baremetal.cfg.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "systemd"
UNITS = eqxtopo.REPO / "scripts" / "systemd"
INSTALLED = "/usr/local/bin/equinox"


def body(c):
    if shutil.which("systemd-analyze") is None:
        print("SKIP: no systemd-analyze")
        raise SystemExit(eqxtopo.SKIP)
    units = sorted(UNITS.glob("*.service"))
    c.check({u.name for u in units} >= {"equinox.service", "equinox-hugepages.service"},
            "equinox.service and equinox-hugepages.service exist", [u.name for u in units])
    tmp = Path(tempfile.mkdtemp(prefix="eqx-%s-" % NAME))
    try:
        for u in units:
            text = u.read_text()
            (tmp / u.name).write_text(text.replace(INSTALLED, str(eqxtopo.equinox_bin())))
        cp = subprocess.run(["systemd-analyze", "verify"] + [str(tmp / u.name) for u in units],
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            timeout=60)
        c.check(cp.returncode == 0 and not cp.stdout.strip(),
                "systemd-analyze verify passes with no warning", cp.stdout)

        main = (UNITS / "equinox.service").read_text()
        c.check(INSTALLED in main, "equinox.service runs %s" % INSTALLED)
        c.check(re.search(r"^ExecReload=.*-HUP", main, re.M),
                "systemctl reload sends SIGHUP (reload without restart)")
        c.check(re.search(r"^RestartPreventExitStatus=2", main, re.M),
                "an invalid config (exit 2) does not restart-loop")
        c.check(re.search(r"^Requires=equinox-hugepages.service", main, re.M),
                "equinox.service requires the hugepages unit")
        pre = re.search(r"^ExecStartPre=(.*)$", main, re.M)
        if c.check(pre, "equinox.service validates its config before starting"):
            cfg = eqxtopo.REPO / "config" / "baremetal.cfg"
            cmd = pre.group(1).replace("${EQUINOX_CONFIG}", str(cfg)).split()
            cmd[0] = str(eqxtopo.equinox_bin())
            cp = subprocess.run(cmd, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=60)
            c.check(cp.returncode == 0, "ExecStartPre accepts config/baremetal.cfg",
                    cp.stdout[-600:])
        hp = (UNITS / "equinox-hugepages.service").read_text()
        c.check("dpdk-hugepages.py --setup" in hp and shutil.which("dpdk-hugepages.py"),
                "the hugepages unit uses dpdk-hugepages.py (installed)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
