#!/usr/bin/python3
"""equinox as a container (opt-in: scripts/test --container, or EQX_CONTAINER=1).

1. scripts/container/build-base makes localhost/equinox-base (debootstrap + podman
   import; skipped when it exists), then `podman build` with
   scripts/container/Containerfile makes localhost/equinox:test from the built
   binaries, installing exactly the Debian packages that hold their libraries (ldd)
   plus DPDK's drivers.
2. The container runs equinox in the test's equinox namespace:
     podman run --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
       --cap-add NET_RAW,NET_ADMIN,IPC_LOCK --network ns:/run/netns/eqx-ctr-lb ...
   with the config and the control socket directory bind-mounted from the host.
3. equinoxctl on the host talks to it through the socket; curl through the VIP from
   the client works and spreads over the backends; `podman stop` ends it with status 0.
"""

import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eqxtopo  # noqa: E402

NAME = "ctr"
OCTET = 215
IMAGE = "localhost/equinox:test"
CONTAINER = "eqx-ctr-lb"
PMD_PACKAGES = ["librte-bus-vdev23", "librte-mempool-ring23", "librte-net-af-packet23",
                "librte-net-memif23", "librte-net-tap23", "librte-net-ring23",
                "librte-net-null23"]
RUNTIME = ["--runtime", "runc"]


def podman(*args, timeout=120, check=False):
    return eqxtopo.run(["podman"] + list(args), check=check, timeout=timeout)


def runtime_packages():
    """Debian packages owning the shared libraries the binaries load, plus drivers."""
    libs = set()
    for b in (eqxtopo.equinox_bin(), eqxtopo.equinoxctl_bin()):
        out = eqxtopo.run(["ldd", str(b)]).stdout
        for line in out.splitlines():
            parts = line.split("=>")
            if len(parts) == 2 and parts[1].strip().startswith("/"):
                libs.add(os.path.realpath(parts[1].split()[0]))
    pkgs = set(PMD_PACKAGES)
    for lib in sorted(libs):
        cp = eqxtopo.run(["dpkg", "-S", lib], check=False)
        if cp.returncode != 0:
            # merged /usr: dpkg knows /lib/..., ldd may say /usr/lib/... or the reverse
            alt = lib[4:] if lib.startswith("/usr/") else "/usr" + lib
            cp = eqxtopo.run(["dpkg", "-S", alt], check=False)
        if cp.returncode == 0:
            pkgs.add(cp.stdout.split(":")[0].strip())
    # libc comes with the base image.
    pkgs.discard("libc6")
    return sorted(pkgs)


def build_image(c):
    cp = eqxtopo.run([str(eqxtopo.REPO / "scripts" / "container" / "build-base")],
                     check=False, timeout=1200, capture=False)
    if not c.check(cp.returncode == 0, "scripts/container/build-base makes localhost/equinox-base"):
        return False
    stage = Path(tempfile.mkdtemp(prefix="eqx-%s-stage-" % NAME))
    try:
        (stage / "build" / "src" / "ctl").mkdir(parents=True)
        shutil.copy2(eqxtopo.equinox_bin(), stage / "build" / "src" / "equinox")
        shutil.copy2(eqxtopo.equinoxctl_bin(), stage / "build" / "src" / "ctl" / "equinoxctl")
        shutil.copytree(eqxtopo.REPO / "config", stage / "config")
        pkgs = runtime_packages()
        eqxtopo.log("image packages: %s" % " ".join(pkgs))
        t0 = time.monotonic()
        cp = eqxtopo.run(["podman", "build"] + RUNTIME + [
            "--network", "host", "-f",
            str(eqxtopo.REPO / "scripts" / "container" / "Containerfile"),
            "--build-arg", "PACKAGES=%s" % " ".join(pkgs), "-t", IMAGE, str(stage)],
            check=False, timeout=900, capture=False)
        return c.check(cp.returncode == 0, "podman build makes %s (%.0fs)"
                       % (IMAGE, time.monotonic() - t0))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def body(c):
    if os.environ.get("EQX_CONTAINER") != "1":
        print("SKIP: opt-in; run scripts/test --container (or EQX_CONTAINER=1)")
        raise SystemExit(eqxtopo.SKIP)
    for tool in ("podman", "runc", "debootstrap"):
        if not c.check(shutil.which(tool), "%s is installed" % tool,
                       "run scripts/setup --container"):
            return
    podman("rm", "-f", "-t", "5", CONTAINER, timeout=60)
    if not build_image(c):
        return

    with eqxtopo.Topology(NAME, OCTET, backends=3) as t:
        etc = Path(t.workdir) / "etc"
        run_dir = Path(t.workdir) / "run"
        etc.mkdir()
        run_dir.mkdir()
        cfg = t.config()
        cfg["control"]["socket"] = "/run/equinox/eqx-ctr.sock"
        (etc / "equinox.json").write_text(json.dumps(cfg, indent=2))
        t.ctl_socket = str(run_dir / "eqx-ctr.sock")
        try:
            cp = podman("run", "-d", "--name", CONTAINER, *RUNTIME,
                        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                        "--cap-add", "NET_RAW,NET_ADMIN,IPC_LOCK",
                        "--network", "ns:/run/netns/%s" % t.lb.ns,
                        "-v", "%s:/etc/equinox:ro" % etc, "-v", "%s:/run/equinox" % run_dir,
                        IMAGE, "-c", "/etc/equinox/equinox.json", timeout=120)
            if not c.check(cp.returncode == 0, "podman run starts the container",
                           cp.stderr):
                return
            ready = False
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = podman("inspect", "-f", "{{.State.Status}}", CONTAINER).stdout.strip()
                if state not in ("running", "created", "configured"):
                    break
                if Path(t.ctl_socket).exists() and t.ctl("stats", "--json",
                                                         check=False).returncode == 0:
                    ready = True
                    break
                time.sleep(0.5)
            lp = podman("logs", CONTAINER)
            logs = lp.stdout + lp.stderr
            if not c.check(ready, "equinox in the container answers equinoxctl on the host",
                           logs[-1500:]):
                return
            stats = t.stats()
            c.check(stats.get("instance") == t.prefix, "stats names the instance", stats)

            ok, out = t.curl(timeout=10)
            c.check(ok, "first request through the VIP", out)
            results = t.curl_many(30)
            served = Counter(b for ok, b in results if ok)
            c.check(all(ok for ok, _ in results), "30 requests through the container's VIP",
                    [r for ok, r in results if not ok][:3])
            c.check(len(served) >= 2, "requests spread over the backends", dict(served))

            cp = podman("stop", "-t", "20", CONTAINER, timeout=60)
            code = podman("inspect", "-f", "{{.State.ExitCode}}", CONTAINER).stdout.strip()
            c.check(cp.returncode == 0 and code == "0", "podman stop ends equinox with status 0",
                    "exit code %s" % code)
        finally:
            podman("rm", "-f", "-t", "5", CONTAINER, timeout=60)
            podman("rmi", "-f", IMAGE, timeout=60)


if __name__ == "__main__":
    eqxtopo.main(NAME, body)
