"""``companion simulator icloud``: the simulated iCloud as a command, for trying the iCloud
source by hand; a client trusts the printed authority and reaches it over HTTPS."""

from __future__ import annotations

import http.client
import json
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.support import cli_env


def test_the_command_serves_https_with_the_printed_authority_and_cleans_up() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "companion", "simulator", "icloud", "--count", "11"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line)
            if line.startswith("}"):
                break
        info = json.loads("".join(lines))
        assert info["apple_id"] == "owner@example.com" and info["code"] == "123456"
        where = urlsplit(info["setup_endpoint"])
        context = ssl.create_default_context(cafile=info["ca_path"])
        conn = http.client.HTTPSConnection(where.hostname, where.port, context=context, timeout=10)
        conn.request("POST", f"{where.path}/validate", body=b"null")
        answer = conn.getresponse()
        answer.read()
        assert answer.status in (200, 401, 421, 450)  # no session yet: refused, but over TLS
        conn.close()
        ca = Path(info["ca_path"])
        assert ca.exists()
    finally:
        child.send_signal(signal.SIGTERM)
        _out, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    assert not ca.exists()  # the throw-away authority goes with the server
    assert "Serving 8 items" in err


def test_a_throttle_spec_is_checked() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "companion", "simulator", "icloud", "--throttle", "nothing:2"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "KIND:N" in done.stderr
