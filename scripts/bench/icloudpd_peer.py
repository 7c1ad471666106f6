"""icloudpd against the simulated iCloud, both inside a fresh network and mount namespace.

icloudpd cannot be pointed at another server: its wheel is a frozen executable (PyInstaller in
staticx) with its own copy of the iCloud client, which connects to fixed Apple host names
(``idmsa.apple.com``, ``setup.icloud.com``; ``www.icloud.com`` only in headers). So this script
runs where those names can be made to lead here without touching the machine:
``icloud_parallel.py`` starts it through ``unshare --net --mount`` (as root; otherwise with
``--user --map-root-user`` too), and in that namespace it

1. brings the loopback interface up (a new network namespace has its own, down);
2. bind-mounts a hosts file mapping Apple's names to 127.0.0.1 over ``/etc/hosts`` (the mount
   is private to the namespace and gone with it);
3. starts the simulated iCloud (``icloud_parallel.py --serve``: the same library, seed and
   pacing as the companion backups) on port 443, with a certificate that also names Apple's
   hosts; the CloudKit and download hosts come from its answers (``https://127.0.0.1:443``);
4. runs ``icloudpd`` once, trusting the server's throw-away CA through ``REQUESTS_CA_BUNDLE``,
   signing in with the password (the simulated account has no two-factor: icloudpd's console
   two-factor path ignores ``REQUESTS_CA_BUNDLE``), downloading originals only into one flat
   folder, with its cookie folder and HOME inside the work folder;
5. checks every file it wrote against the server's manifest (name, size, SHA-256) and prints
   one JSON line: seconds, icloudpd's peak RSS (``os.wait4``, the server not included), files,
   bytes, and the names missing, different or unexpected; also the seconds ``icloudpd
   --version`` takes, its start-up alone (staticx unpacks the frozen program on every run).

Usage (from ``icloud_parallel.py``): ``unshare --net --mount python3 icloudpd_peer.py JOB``,
``JOB`` being JSON with the server's job (``serve``), ``workdir``, ``icloudpd`` (its path),
``apple_id`` and ``password``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchkit import MB, CommandFailed, run_child

HERE = Path(__file__).resolve().parent
CLOUDKIT_HOST = "p01-ckdatabasews.icloud.com"  # real ones are pNN-ckdatabasews.icloud.com
APPLE_HOSTS = (
    *(
        f"{host}{tld}"
        for host in ("idmsa.apple.com", "setup.icloud.com", "www.icloud.com")
        for tld in ("", ".cn")
    ),
    CLOUDKIT_HOST,
)
_TIMEOUT_S = 3600.0


class Place:
    """Where the children run (``benchkit.Workplace``): the work folder and an environment."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env


def point_names_here(workdir: Path) -> None:
    """Loopback up, Apple's names on 127.0.0.1 (this namespace only)."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    hosts = workdir / "hosts"
    lines = ["127.0.0.1 localhost", *(f"127.0.0.1 {name}" for name in APPLE_HOSTS)]
    hosts.write_text("\n".join(lines) + "\n")
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)


def start_server(job: dict[str, Any], logs: Path) -> tuple[subprocess.Popen[bytes], Any, Any]:
    """The simulated iCloud on 443 under Apple's names; its connection info and manifest."""
    serve = {
        **job["serve"],
        "port": 443,
        "host_names": list(APPLE_HOSTS),
        "service_url": f"https://{CLOUDKIT_HOST}",
        "manifest": True,
        "log": str(logs / "icloudpd-server.log"),
    }
    cmd = [sys.executable, str(HERE / "icloud_parallel.py"), "--serve", json.dumps(serve)]
    server = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert server.stdout is not None
    info, manifest = server.stdout.readline(), server.stdout.readline()
    if not manifest:
        server.kill()
        server.wait()
        raise CommandFailed("the simulated iCloud did not start in the namespace")
    return server, json.loads(info), json.loads(manifest)


def icloudpd_command(job: dict[str, Any], photos: Path, cookies: Path) -> list[str]:
    return [
        job["icloudpd"],
        "--directory",
        str(photos),
        "--username",
        job["apple_id"],
        "--password",
        job["password"],
        "--password-provider",
        "parameter",
        "--cookie-directory",
        str(cookies),
        "--folder-structure",
        "none",
        "--size",
        "original",
        "--no-progress-bar",
        "--log-level",
        "info",
    ]


def compare(photos: Path, manifest: dict[str, list[Any]]) -> dict[str, Any]:
    """What icloudpd wrote against what the server serves, byte for byte."""
    found = {path.name: path for path in photos.rglob("*") if path.is_file()}
    missing = sorted(set(manifest) - set(found))
    extra = sorted(set(found) - set(manifest))
    differing = []
    total = 0
    for name in sorted(set(manifest) & set(found)):
        digest = hashlib.sha256()
        with found[name].open("rb") as data:
            for block in iter(lambda: data.read(4 * 1024 * 1024), b""):
                digest.update(block)
                total += len(block)
        if [found[name].stat().st_size, digest.hexdigest()] != manifest[name]:
            differing.append(name)
    same = len(manifest) - len(missing) - len(differing)
    return {
        "files": same,
        "megabytes": total / MB,
        "missing": missing,
        "differing": differing,
        "extra": extra,
    }


def main(argv: list[str]) -> int:
    job = json.loads(argv[1])
    workdir = Path(job["workdir"])
    for folder in ("photos", "cookies", "home", "logs"):
        # icloudpd writes its session file (tokens) 0644: the folder keeps others out.
        (workdir / folder).mkdir(mode=0o700, parents=True, exist_ok=True)
    point_names_here(workdir)
    server, info, manifest = start_server(job, workdir / "logs")
    try:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir / "home"),
            "LANG": "C.UTF-8",
            "REQUESTS_CA_BUNDLE": info["ca_path"],
        }
        place = Place(workdir, env)
        startup, _, _ = run_child([job["icloudpd"], "--version"], place, "icloudpd-version")
        cmd = icloudpd_command(job, workdir / "photos", workdir / "cookies")
        seconds, rss, cpu = run_child(cmd, place, "icloudpd", _TIMEOUT_S)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(30)
    answer = {
        "seconds": seconds,
        "startup_seconds": startup,
        "peak_rss_mb": rss,
        "cpu_seconds": cpu,
    }
    answer.update(compare(workdir / "photos", manifest))
    print(json.dumps(answer))
    return 0


def _usage(argv: list[str]) -> int | None:
    """``--help`` (or no job): say what this is and how it is run; None when given a job."""
    if len(argv) == 2 and argv[1] not in ("-h", "--help"):
        return None
    print(f"usage: {Path(argv[0]).name} JOB   (run by icloud_parallel.py inside unshare)")
    print((__doc__ or "").split("\n\n", 1)[0])
    return 0 if len(argv) == 2 else 2


if __name__ == "__main__":
    asked = _usage(sys.argv)
    sys.exit(asked if asked is not None else main(sys.argv))
