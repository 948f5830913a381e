"""Benchmark the HTTP API against the store it reads: what a request over HTTP costs on top of the query.

Run by hand from the project root: `python -m bench.api`. A job of about 300 candidates (local:gp) is
written to a fresh SQLite store, `evolver serve` is started on it, and each figure is a median over repeats,
given as a ratio to the same work done directly in this process, measured in the same run:

- the lineage page (`GET /jobs/ID/lineage`, 300 rows) against `Store.lineage`;
- the job's standing (`GET /jobs/ID`, what the page polls every 2 s) against `Store.lineage`;
- the standing of a job of 2,000 candidates against the same call on a job of 20 (copies of the real job's rows,
  prompts and replies included), the two interleaved, as the median of RUNS runs of REPEATS calls each: a poll
  must not grow with the job;
- a candidate's chart: the server's first (its sandbox pool starts, matplotlib loads), then others drawn (a
  sandbox run with the daily stats, then matplotlib), then one cached, against one plain sandbox evaluation.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.store import CandidateRow, Store
from sandbox import SandboxPool

GENERATIONS = 150  # two tries a turn: about 300 candidates
REPEATS = 30
RUNS = 5
SIZES = (20, 2000)


def median_ms(work: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def serve(folder: Path, database: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "EVOLVER_DATABASE_URL": database}
    command = [str(Path(sys.executable).with_name("evolver")), "serve", "--port", str(port)]
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/scenarios", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("evolver serve did not start")


def copy_job(store: Store, rows: list[CandidateRow], size: int) -> int:
    """A finished job of `size` candidates: the real job's rows repeated, under keys of their own."""
    job_id = store.create_job(
        scenario="ai3_plugins", goal="bench", comp="max:usdc", direction="max", models=["local:gp"],
        budget={"generations": size, "attempts": 1}, seed=0,
    )  # fmt: skip
    for n in range(size):
        row = rows[n % len(rows)]
        store.add_candidate(
            key=f"{job_id}:{n}:local:gp:0", job_id=job_id, model_id="local:gp", op=row.op, generation=n,
            code=row.code, status=row.status, score=row.score, metrics=row.metrics, error=row.error,
            improved=row.improved, prompt=row.prompt, reply=row.reply, cost=row.cost,
        )  # fmt: skip
    store.set_job_phase(job_id, size)
    store.set_job_status(job_id, "done")
    return job_id


def interleaved(calls: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Each call's median over RUNS runs of REPEATS, the calls taking turns run by run."""
    runs: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(RUNS):
        for name, call in calls.items():
            runs[name].append(median_ms(call))
    return {name: statistics.median(times) for name, times in runs.items()}


def main() -> None:
    with tempfile.TemporaryDirectory() as name, SandboxPool(workers=1) as pool:
        folder = Path(name)
        settings = Settings(database_url=f"sqlite:///{folder / 'bench.db'}")
        store = Store(settings.database_url)
        store.upgrade()
        spec = JobSpec(scenario="ai3_plugins", generations=GENERATIONS, attempts=2)
        job = Engine(store, settings, pool).execute(spec)
        rows = store.lineage(job)
        best = store.best(job, "max")
        assert best is not None
        small, large = (copy_job(store, rows, size) for size in SIZES)
        process, base = serve(folder, settings.database_url)
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                query = median_ms(lambda: store.lineage(job))
                page = median_ms(lambda: client.get(f"/jobs/{job}/lineage").raise_for_status())
                standing = median_ms(lambda: client.get(f"/jobs/{job}").raise_for_status())
                evaluation = median_ms(lambda: pool.evaluate(best.code, "ai3_plugins", [0]), 10)
                first = median_ms(lambda: client.get(f"/candidates/{best.id}/chart.png").raise_for_status(), 1)
                others = iter([row.id for row in rows if row.status == "ok" and row.id != best.id])
                drawn = median_ms(lambda: client.get(f"/candidates/{next(others)}/chart.png").raise_for_status(), 10)
                cached = median_ms(lambda: client.get(f"/candidates/{best.id}/chart.png").raise_for_status())
                polls = interleaved({
                    str(size): (lambda job_id=job_id: client.get(f"/jobs/{job_id}").raise_for_status())
                    for size, job_id in zip(SIZES, (small, large), strict=True)
                })  # fmt: skip
        finally:
            process.terminate()
            process.wait(30)
    print(f"job {job}: {len(rows)} candidates; medians of {REPEATS} (charts drawn: the first one, then 10 others)")
    print(f"Store.lineage, in process             {query:8.2f} ms   (baseline)")
    print(f"GET /jobs/ID/lineage over HTTP        {page:8.2f} ms   {page / query:6.2f}x the query")
    print(f"GET /jobs/ID (standing, polled)       {standing:8.2f} ms   {standing / query:6.2f}x the query")
    print(f"one sandbox evaluation, in process    {evaluation:8.2f} ms   (baseline)")
    print(f"GET chart.png, the server's first     {first:8.2f} ms   {first / evaluation:6.2f}x the evaluation")
    print(f"GET chart.png, drawn                  {drawn:8.2f} ms   {drawn / evaluation:6.2f}x the evaluation")
    print(f"GET chart.png, cached                 {cached:8.2f} ms   {cached / evaluation:6.2f}x the evaluation")
    few, many = (polls[str(size)] for size in SIZES)
    print(f"GET /jobs/ID, {SIZES[0]:>5} candidates        {few:8.2f} ms   (baseline; {RUNS} runs, interleaved)")
    print(f"GET /jobs/ID, {SIZES[1]:>5} candidates        {many:8.2f} ms   {many / few:6.2f}x the {SIZES[0]}")


if __name__ == "__main__":
    main()
