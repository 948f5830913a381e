"""`evolver serve` as a user runs it: after the README's main command, in the same directory, on its SQLite file;
the page in a browser shows the job, its tree and a candidate's charts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from postgres import free_port

EVOLVER = [str(Path(sys.executable).with_name("evolver"))]  # the console script of this venv
TOKEN = "serve-token-1f2e"


def environment(**extra: str) -> dict[str, str]:
    """The test's environment without any EVOLVER_ setting of the developer's, plus `extra`."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("EVOLVER_")}
    return {**clean, **extra}


def wait_for(url: str, process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"evolver serve exited: {process.communicate()}"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"evolver serve did not answer at {url}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory where the README's main command ran (its second half: the offline job, shortened)."""
    where = tmp_path_factory.mktemp("serve")
    done = subprocess.run(
        [*EVOLVER, "evolve", "ai3_plugins", "--generations", "2", "--attempts", "1"],
        cwd=where, env=environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return where


def test_serve_shows_the_job_run_before_it_and_stops_cleanly(workdir: Path, browser: Browser) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*EVOLVER, "serve", "--port", str(port)],
        cwd=workdir, env=environment(EVOLVER_API_TOKEN=TOKEN), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/jobs", process)
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "/static/app.js" in page.text
        jobs = httpx.get(f"{base}/jobs").json()
        assert jobs["total"] == 1 and jobs["items"][0]["status"] == "done"
        job = httpx.get(f"{base}/jobs/1").json()
        best = job["standings"][0]["best_candidate"]
        chart = httpx.get(f"{base}/candidates/{best}/chart.png", timeout=60)
        assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG\r\n\x1a\n")
        refused = httpx.post(f"{base}/jobs", json={"scenario": "ai3_plugins"})
        assert refused.status_code == 401
        page = browser.new_page()
        page.goto(f"{base}/")
        page.locator('#jobs a[href="#/jobs/1"]').click()
        expect(page.locator("#tree .node")).to_have_count(job["candidates"])
        page.locator(f'#tree .node[data-id="{best}"]').click()
        expect(page.locator("#candidate pre.code")).to_contain_text("def fn(i, v, r, s, p)")
        charts = page.locator("#candidate .chart-panel")  # drawn by uPlot, served from the app's static/vendor/
        expect(charts.first.locator("canvas").first).to_be_visible(timeout=60_000)
        expect(page.locator("#candidate .chart-note")).to_have_count(0)
        assert charts.count() == len(httpx.get(f"{base}/candidates/{best}/run.json", timeout=60).json()["panels"])
        page.close()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "writes on (bearer token)" in err and TOKEN not in out + err
    assert "Traceback" not in err


def test_serve_with_an_unreachable_database_is_one_error_line(tmp_path: Path) -> None:
    url = "postgresql+psycopg://evolver:s3cret@127.0.0.1:9/evolver"
    done = subprocess.run(
        [*EVOLVER, "serve", "--port", str(free_port())],
        cwd=tmp_path, env=environment(EVOLVER_DATABASE_URL=url), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "127.0.0.1:9" in lines[0], done.stderr
    assert "s3cret" not in done.stderr
