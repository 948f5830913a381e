"""Benchmark the queue: N evaluations of a one-year candidate through Celery (a real redis-server and a prefork
worker of 2 processes) against the in-process executor (`SandboxPool(workers=2)`).

Run by hand from the project root: `python -m bench.queue [--n 1000] [--rounds 3]`; it needs `redis-server`.
The two paths run in alternation, each N evaluations per round after a warm-up, and the figure that counts
is the ratio of their rates measured in the same session, because these machines are noisy. Every result
must be "ok" with the in-process score (same seed, same score), so the bench also checks the queue path.
The client, redis-server and the worker's main process share the machine with the two workers, as the
in-process executor's threads do, so their CPU counts against the queue; on two cores it is most of the gap.
The player is `bench.sandbox.PLAYER`, a one-year `ai3_plugins` slot player. The worker takes the caller's
EVOLVER_* settings but the broker, result backend and database, so a setting can be tried from the shell
(e.g. `EVOLVER_MAX_TASKS_PER_CHILD=100000 python -m bench.queue`).
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
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import redis
from celery import Celery, states

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
    """Whether the server answers a ping now."""
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

    Its temporary files (the warm parents' directories) go under `root`.
    """
    (root / "tmp").mkdir()
    env = os.environ | {
        "EVOLVER_BROKER_URL": url,
        "EVOLVER_RESULT_BACKEND": url,
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
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def client(url: str, results: bool = True) -> Celery:
    """A Celery client with the service's settings for the broker at `url`; without `results`, it only sends
    (as evolver's TaskQueue does) and keeps no subscription of its own to the results."""
    app = Celery("evolver", set_as_current=False)
    app.conf.update(celery_config(Settings(broker_url=url, result_backend=url)))
    if not results:
        app.conf.result_backend = None
    return app


def wait_ready(app: Celery, root: Path, timeout: float = 60) -> None:
    """Until the worker answers a ping (its pool is up by then)."""
    deadline = time.monotonic() + timeout
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            log = (root / "worker.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the worker did not start:\n{log}")


class Queue:
    """Sends evaluations to the workers and reads their results as the workers store them.

    The results come from one pattern subscription to the result backend's channels (the Redis backend
    publishes each result as it stores it). `AsyncResult.get()` and `ResultSet.join_native()` subscribe and
    unsubscribe once per task and run Celery's result consumer: measured, the client then spent 2.8-3.5 ms of
    CPU per task (sending included) against 1.5-1.9 ms this way, CPU the workers need on a two-core machine.
    """

    def __init__(self, url: str) -> None:
        self.sender = client(url, results=False)
        self.backend = client(url).backend  # names and decodes the results; never subscribes itself
        self.pubsub = self.backend.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.psubscribe(self.backend.get_key_for_task("*"))

    def evaluate(self, n: int, timeout: float = 600) -> list[dict[str, Any]]:
        """N evaluations of PLAYER; their results (the task's dicts) in order of sending."""
        args = (PLAYER, SCENARIO, list(SEEDS), YEARS)
        with self.sender.producer_or_acquire() as producer:
            ids = [self.sender.send_task(EVALUATE_CODE, args, queue=QUEUE, producer=producer).id for _ in range(n)]
        waiting, done = set(ids), {}
        deadline = time.monotonic() + timeout
        while waiting:
            message = self.pubsub.get_message(timeout=1.0)
            if message is None:  # quiet for a second: read what is stored, in case a message went astray
                metas = self.backend.mget([self.backend.get_key_for_task(task_id) for task_id in waiting])
                found = [self.backend.decode_result(meta) for meta in metas if meta]
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{len(waiting)} of {n} evaluations still outstanding after {timeout:g} s")
            else:
                found = [self.backend.decode_result(message["data"])]
            for meta in found:
                if meta["task_id"] in waiting and meta["status"] in states.READY_STATES:
                    waiting.discard(meta["task_id"])
                    done[meta["task_id"]] = _result(meta)
        return [done[task_id] for task_id in ids]

    def close(self) -> None:
        self.pubsub.close()
        self.sender.close()


def _result(meta: dict[str, Any]) -> dict[str, Any]:
    """The task's return value, or what went wrong in its place."""
    if meta["status"] == states.SUCCESS:
        return meta["result"]
    return {"status": meta["status"], "score": None, "error": repr(meta["result"])}


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
        with (
            SandboxPool(workers=WORKERS) as pool,
            redis_server(root) as url,
            celery_worker(url, root),
            closing(Queue(url)) as queue,
        ):
            wait_ready(queue.sender, root)
            runs: dict[str, Callable[[int], list[dict[str, Any]]]] = {
                "in-process": lambda n: in_process(pool, n),
                "queue": queue.evaluate,
            }
            score = in_process(pool, WARM_UP)[0]["score"]
            timed(runs["queue"], WARM_UP, score)  # every prefork child starts its warm parent
            rates: dict[str, list[float]] = {name: [] for name in runs}
            for round_ in range(options.rounds):
                for name in sorted(runs, reverse=round_ % 2 == 1):  # alternate which goes first
                    rates[name].append(timed(runs[name], options.n, score))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for name, measured in rates.items():
        print(f"{name:>10}: best {max(measured):,.1f}/s, median {statistics.median(measured):,.1f}/s "
              f"(runs of {options.n} evaluations over {WORKERS} workers: "
              f"{', '.join(f'{rate:.1f}' for rate in measured)})")  # fmt: skip
    settings = Settings()  # the worker's other settings: the caller's EVOLVER_* or the defaults
    best = max(rates["queue"]) / max(rates["in-process"])
    median = statistics.median(rates["queue"]) / statistics.median(rates["in-process"])
    print(f"queue / in-process: {best:.2f} (best), {median:.2f} (median) "
          f"(target: at least {TARGET:.2f}: {'met' if best >= TARGET else 'MISSED'}); every score {score}")  # fmt: skip
    print(f"worker: prefork, {WORKERS} processes, prefetch multiplier 1, late acks, "
          f"each process replaced after {settings.max_tasks_per_child} tasks")  # fmt: skip


if __name__ == "__main__":
    main()
