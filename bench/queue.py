"""Benchmark the queue: N evaluations of a one-year candidate through Celery (a real redis-server and a prefork
worker of 2 processes) against the in-process executor (`SandboxPool(workers=2)`).

Run by hand from the project root: `python -m bench.queue [--n 1000] [--rounds 3]`; it needs `redis-server`.
The two paths run in alternation, each N evaluations per round after a warm-up, and the figure that counts
is the ratio of their rates measured in the same session, because these machines are noisy. Every result
must be "ok" with the in-process score (same seed, same score), so the bench also checks the queue path.
The player is `bench.sandbox.PLAYER`, a one-year `ai3_plugins` slot player.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.result import AsyncResult, ResultSet

from bench.sandbox import PLAYER
from evolver.queue import EVALUATE_CODE, QUEUE, celery_config
from evolver.settings import Settings
from sandbox import SandboxPool

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "ai3_plugins"
SEEDS = (0,)
YEARS = 1.0
WORKERS = 2
WARM_UP = 20
TARGET = 0.70  # the done-when target: the queue's rate at least 70% of the in-process rate


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def redis_server(root: Path) -> Iterator[str]:
    """A throwaway redis-server (no persistence) working in `root`; yields its URL and stops it on exit."""
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is not installed: `apt-get install -y redis-server`")
    port, pidfile = free_port(), root / "redis.pid"
    url = f"redis://127.0.0.1:{port}/0"
    subprocess.run(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "yes", "--pidfile", str(pidfile), "--dir", str(root), "--logfile", str(root / "redis.log")],
        check=True,
    )  # fmt: skip
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while not _answers(client):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.02)
        client.close()
        yield url
    finally:
        _stop_redis(pidfile)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _stop_redis(pidfile: Path) -> None:
    """SIGTERM to the server in `pidfile`, SIGKILL if it is still there after 10 s."""
    deadline = time.monotonic() + 10
    while not pidfile.exists() and time.monotonic() < deadline:  # daemonized: the file may come a moment late
        time.sleep(0.02)
    try:
        pid = int(pidfile.read_text())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
    while time.monotonic() < deadline + 10:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)


@contextmanager
def celery_worker(url: str, root: Path) -> Iterator[None]:
    """`celery -A worker.app worker`, prefork with WORKERS processes, in its own session; killed with its group.

    The environment carries no EVOLVER_* setting of the caller's, so the worker runs the defaults; its temporary
    files (the warm parents' directories) go under `root`.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("EVOLVER_")}
    (root / "tmp").mkdir()
    env |= {
        "EVOLVER_BROKER_URL": url,
        "EVOLVER_DATABASE_URL": f"sqlite:///{root / 'bench.db'}",  # opened lazily; evaluate_code never needs it
        "TMPDIR": str(root / "tmp"),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "worker.app", "worker", "-P", "prefork", "-c", str(WORKERS),
        "--prefetch-multiplier=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel=WARNING", "-n", f"bench-{os.getpid()}@%h",
    ]  # fmt: skip
    with (root / "worker.log").open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def client(url: str) -> Celery:
    """A Celery client with the service's settings for the broker at `url`."""
    app = Celery("evolver", set_as_current=False)
    app.conf.update(celery_config(Settings(broker_url=url, result_backend=None)))
    return app


def wait_ready(app: Celery, root: Path, timeout: float = 60) -> None:
    """Until the worker answers a ping (its pool is up by then)."""
    deadline = time.monotonic() + timeout
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            log = (root / "worker.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the worker did not start:\n{log}")


def on_queue(app: Celery, n: int) -> list[dict[str, Any]]:
    """N evaluations sent at once to the queue; their results (dicts) in order of sending."""
    args = (PLAYER, SCENARIO, list(SEEDS), YEARS)
    sent = [app.send_task(EVALUATE_CODE, args=args, queue=QUEUE) for _ in range(n)]
    return ResultSet(sent, app=app).join_native(timeout=600, propagate=True)


def in_process(pool: SandboxPool, n: int) -> list[dict[str, Any]]:
    """N evaluations on the in-process executor, as the dicts the task returns."""
    return [evaluation.to_dict() for evaluation in pool.evaluate_many([(PLAYER, SCENARIO)] * n, SEEDS, YEARS)]


def timed(run: Callable[[int], list[dict[str, Any]]], n: int, score: float) -> float:
    """The rate (evaluations per second) of one run of N; every result must be ok with `score`."""
    start = time.perf_counter()
    results = run(n)
    rate = n / (time.perf_counter() - start)
    wrong = [result for result in results if result["status"] != "ok" or result["score"] != score]
    if len(results) != n or wrong:
        raise SystemExit(f"{len(results)} results, {len(wrong)} wrong (expected ok, score {score}); first: {wrong[:1]}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="evaluations per run (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each path, in alternation (default 3)")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="evolver-bench-queue-"))
    try:
        with SandboxPool(workers=WORKERS) as pool, redis_server(root) as url, celery_worker(url, root):
            app = client(url)
            wait_ready(app, root)
            warm = in_process(pool, WARM_UP)
            score = warm[0]["score"]
            timed(lambda n: in_process(pool, n), WARM_UP, score)
            timed(lambda n: on_queue(app, n), WARM_UP, score)  # every prefork child starts its warm parent
            rates: dict[str, list[float]] = {"in-process": [], "queue": []}
            for _ in range(options.rounds):
                rates["in-process"].append(timed(lambda n: in_process(pool, n), options.n, score))
                rates["queue"].append(timed(lambda n: on_queue(app, n), options.n, score))
            app.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for name, runs in rates.items():
        print(f"{name:>10}: best {max(runs):,.1f}/s, median {statistics.median(runs):,.1f}/s "
              f"({options.rounds} runs of {options.n} evaluations, {WORKERS} workers)")  # fmt: skip
    best = max(rates["queue"]) / max(rates["in-process"])
    median = statistics.median(rates["queue"]) / statistics.median(rates["in-process"])
    print(f"queue / in-process: {best:.2f} (best), {median:.2f} (median) "
          f"(target: at least {TARGET:.2f}: {'met' if best >= TARGET else 'MISSED'}); every score {score}")  # fmt: skip


if __name__ == "__main__":
    main()
