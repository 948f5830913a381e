"""Benchmark a candidate's charts on the page: drawn in the browser from `run.json`, against the candidate's evaluation
and against the PNG the server draws.

Run by hand from the project root: `python -m bench.charts [--runs N]`. A job of the offline generator (`local:gp`)
on `ai3_plugins` is written to a fresh SQLite store and `evolver serve` is started on it. Each run takes an ok
candidate whose charts the server has not computed yet and measures, one after the other:

- (a) its evaluation: the sandbox call the chart routes make (its job's first seed, the daily stats returned), in
  this process, the median of three calls;
- (b) its charts on the page, in headless Chromium (Debian's, driven by Playwright as the tests drive it): from the
  click on its node in the lineage to the first frame after the last uPlot chart was drawn, timed in the page;
- (c) `GET /candidates/ID/chart.png`, the PNG drawn by the server.

The figures are the medians of the runs' ratios (b)/(a) and (c)/(a), never the best run. A first run (not counted)
warms the server (its sandbox pool, pandas, matplotlib) and the browser (the page and uPlot).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.api import serve
from evolver.api.routes.candidates import CHART_LIMITS
from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.store import CandidateRow, Store
from sandbox import SandboxPool

SCENARIO = "ai3_plugins"
GENERATIONS = 12  # one try a turn: enough ok candidates for the runs
RUNS = 5
EVALUATIONS = 3  # calls of (a) per run
CHROMIUM_ARGS = [  # as tests/api/conftest.py launches it
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# In the page: click the candidate's node, and resolve with the milliseconds until the first animation frame after
# its charts were drawn (the "drawing…" note is removed once the last uPlot chart is made; another text is an error).
CLICK_TO_CHARTS = """(id) => new Promise((resolve, reject) => {
  const observer = new MutationObserver(() => {
    const box = document.querySelector(`.charts[data-candidate="${id}"]`);
    const note = box && box.querySelector(".chart-note");
    if (note && !note.textContent.startsWith("drawing")) reject(new Error(note.textContent));
    if (!box || note || !box.querySelector(".chart-panel canvas")) return;
    observer.disconnect();
    requestAnimationFrame(() => resolve(performance.now() - started));
  });
  observer.observe(document.getElementById("view"), { childList: true, subtree: true, characterData: true });
  setTimeout(() => reject(new Error(`no charts of candidate ${id} after 60 s`)), 60000);
  const started = performance.now();
  document.querySelector(`#tree .node[data-id="${id}"]`).dispatchEvent(new MouseEvent("click", { bubbles: true }));
})"""


def evaluation_ms(pool: SandboxPool, candidate: CandidateRow, seed: int) -> float:
    """(a): the median of EVALUATIONS calls of the sandbox as the chart routes call it."""
    times = []
    for _ in range(EVALUATIONS):
        started = time.perf_counter()
        evaluation = pool.evaluate(candidate.code, SCENARIO, [seed], None, CHART_LIMITS, detail=True)
        times.append((time.perf_counter() - started) * 1e3)
        assert evaluation.detail is not None, evaluation.error
    return statistics.median(times)


def page_ms(page: Page, job_id: int, candidate_id: int) -> float:
    """(b): the job's page opened with no candidate chosen, then the click on the candidate until its charts show."""
    page.goto(f"/#/jobs/{job_id}")
    page.locator(f'#tree .node[data-id="{candidate_id}"]').wait_for()
    return page.evaluate(CLICK_TO_CHARTS, candidate_id)


def png_ms(client: httpx.Client, candidate_id: int) -> float:
    """(c): the PNG drawn by the server."""
    started = time.perf_counter()
    response = client.get(f"/candidates/{candidate_id}/chart.png")
    elapsed = (time.perf_counter() - started) * 1e3
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG"), response.text[:200]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs measured (default {RUNS}; at least 3)")
    runs = max(3, parser.parse_args().runs)
    # The server's rate limit would refuse the runs' fresh charts; the bench is its only client.
    os.environ["EVOLVER_API_BURST"] = "1000"
    with tempfile.TemporaryDirectory(prefix="charts_bench_") as name, SandboxPool(workers=1) as pool:
        folder = Path(name)
        settings = Settings(database_url=f"sqlite:///{folder / 'bench.db'}", broker_url=None)
        store = Store(settings.database_url)
        store.upgrade()
        job_id = Engine(store, settings, pool).execute(JobSpec(scenario=SCENARIO, generations=GENERATIONS, attempts=1))
        job = store.job(job_id)
        assert job is not None
        seed = job.budget["seeds"][0]
        candidates = [row for row in store.lineage(job_id) if row.status == "ok"]
        if len(candidates) < runs + 1:
            raise SystemExit(f"job {job_id} has {len(candidates)} ok candidates; {runs + 1} are needed")
        process, base = serve(folder, settings.database_url)
        figures: list[tuple[float, float, float]] = []
        try:
            with (
                httpx.Client(base_url=base, timeout=120) as client,
                sync_playwright() as playwright,
            ):
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900}).new_page()
                for n, candidate in enumerate(candidates[: runs + 1]):
                    figure = (
                        evaluation_ms(pool, candidate, seed),
                        page_ms(page, job_id, candidate.id),
                        png_ms(client, candidate.id),
                    )
                    if n:  # the first run warms the server and the browser
                        figures.append(figure)
                browser.close()
        finally:
            process.terminate()
            process.wait(30)
    print(f"job {job_id} ({SCENARIO}, local:gp): {len(candidates)} ok candidates; {runs} runs, each a fresh one")
    print("run   (a) evaluation   (b) charts on the page   (c) chart.png     (b)/(a)   (c)/(a)")
    for n, (a, b, c) in enumerate(figures, 1):
        print(f"{n:>3}   {a:11.1f} ms   {b:17.1f} ms   {c:9.1f} ms   {b / a:7.2f}x  {c / a:7.2f}x")
    a, b, c = (statistics.median(column) for column in zip(*figures, strict=True))
    page_ratio = statistics.median(b / a for a, b, _ in figures)
    png_ratio = statistics.median(c / a for a, _, c in figures)
    print(
        f"median {a:9.1f} ms   {b:17.1f} ms   {c:9.1f} ms   {page_ratio:7.2f}x  {png_ratio:7.2f}x  (medians of ratios)"
    )
    print(f"target: the charts show within 3x of the evaluation: {'met' if page_ratio <= 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
