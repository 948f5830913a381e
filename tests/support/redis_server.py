"""A throwaway redis-server for tests: Debian's binary, a temporary directory, a free loopback port.

`running()` starts one and stops it (no process left behind). Without redis-server installed it fails the
test with how to install it: `make test` installs it (scripts/system-deps.sh), so these tests never skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from postgres import free_port


@contextmanager
def running() -> Iterator[str]:
    """A fresh redis-server; yields its URL (`redis://127.0.0.1:PORT/0`) and stops it on exit."""
    if shutil.which("redis-server") is None:
        pytest.fail(
            "redis-server is not installed: `apt-get install -y redis-server`, as `make test` does "
            "(scripts/system-deps.sh)",
            pytrace=False,
        )
    root = Path(tempfile.mkdtemp(prefix="evolver-redis-"))
    port = free_port()
    server = Server(root, port)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


class Server:
    """One redis-server process that can be stopped and started again on the same port and data directory."""

    def __init__(self, root: Path, port: int, appendonly: bool = False) -> None:
        self.root, self.port, self.appendonly = root, port, appendonly
        self.url = f"redis://127.0.0.1:{port}/0"
        self.pidfile = root / "redis.pid"

    def start(self) -> None:
        subprocess.run(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.appendonly else "no", "--maxmemory-policy", "noeviction",
             "--daemonize", "yes", "--pidfile", str(self.pidfile), "--dir", str(self.root),
             "--logfile", str(self.root / "redis.log")],
            check=True,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
            finally:
                client.close()

    def stop(self) -> None:
        """Stops the server and waits until its process is gone."""
        try:
            pid = int(self.pidfile.read_text())
        except (FileNotFoundError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)
