"""A throwaway PostgreSQL server for tests: Debian's binaries, a temporary directory, a free loopback port.

`running()` starts one and stops it (no process left behind). Without PostgreSQL installed it fails the
test with how to install it: `make test` installs it (scripts/system-deps.sh), so these tests never skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

USER = "evolver"
_INSTALL = "install it with `apt-get install -y postgresql` (Debian), as `make test` does (scripts/system-deps.sh)"


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def create_database(url: str, name: str) -> str:
    """Creates database `name` on the server at `url` (a psycopg URL) and returns the URL that points at it."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def running() -> Iterator[str]:
    """A fresh PostgreSQL server; yields its SQLAlchemy URL and stops it (and removes its files) on exit."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name))
    if not binaries or not Path(binaries[-1], "initdb").is_file():
        pytest.fail(f"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): {_INSTALL}", pytrace=False)
    bin_dir = Path(binaries[-1])
    # Not under pytest's tmp_path: its parents are private to root, and the server must run as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="evolver-pg-"))
    data = root / "data"
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()

    def pg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_postgres, *args], cwd=root, capture_output=True, text=True, timeout=60, check=False)

    try:
        _check(
            pg(
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                USER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ),
            "initdb",
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        _check(
            pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"),
            "pg_ctl start",
            root / "log",
        )
        pid = int((data / "postmaster.pid").read_text().split()[0])
        try:
            yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
        finally:
            _check(pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"), "pg_ctl stop")
            _wait_gone(pid)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _check(done: subprocess.CompletedProcess[str], what: str, log: Path | None = None) -> None:
    if done.returncode != 0:
        detail = log.read_text() if log is not None and log.exists() else ""
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr or done.stdout}{detail}")


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    """Waits for the postmaster to exit (pg_ctl stop -w has waited already: this makes sure)."""
    deadline = time.monotonic() + timeout
    stat = Path(f"/proc/{pid}/stat")
    while time.monotonic() < deadline:
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state == "Z":  # exited; its parent (init) has not reaped it yet
            return
        time.sleep(0.05)
    raise RuntimeError(f"the PostgreSQL server (pid {pid}) is still running after pg_ctl stop")
