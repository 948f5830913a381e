"""The web page in a real browser (Debian's Chromium, driven by Playwright): the jobs list, a lineage with failed
candidates and a candidate's code, diff and charts (drawn by the vendored uPlot: hover, zoom, nothing fetched from
elsewhere), a tournament's tables, a run followed live, and an API error.

Every check compares what the page shows with what the API answers. A page that throws, or logs an error to the
console, fails the test that opened it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import wire
from api_server import AUTH, REPLIES, make_settings, serving
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect
from wire import WireServer

from evolver.api import create_app

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
LIVE_TIMEOUT_MS = 60_000
THINKING = 1.0  # seconds the live test's model takes per reply
CHART_TIMEOUT_MS = 30_000


class Console:
    """What the page reported: uncaught exceptions and console errors, each with the URL it came from."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def exception(self, error: Exception) -> None:
        self.errors.append((f"uncaught: {error}", ""))

    def message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append((message.text, message.location.get("url", "")))


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, base_url: str, console: Console) -> Iterator[Page]:
    """A fresh page on the served app; after the test, it must have reported no error."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.on("pageerror", console.exception)
    page.on("console", console.message)
    yield page
    context.close()
    assert console.errors == [], f"the page reported errors: {console.errors}"


def node(page: Page, candidate_id: int) -> Locator:
    return page.locator(f'#tree .node[data-id="{candidate_id}"]')


def test_the_list_shows_every_job(page: Page, client: httpx.Client, finished: dict) -> None:
    jobs = client.get("/jobs", params={"limit": 500}).json()
    page.goto("/#/")
    expect(page.locator("#jobs tbody tr")).to_have_count(jobs["total"])
    assert jobs["total"] >= 3
    for job in jobs["items"]:
        row = page.locator(f'#jobs tbody tr[data-id="{job["id"]}"]')
        route = "tournaments" if job["kind"] == "tournament" else "jobs"
        expect(row.locator(f'a[href="#/{route}/{job["id"]}"]')).to_have_text(f"#{job['id']}")
        for text in (job["kind"], job["scenario"], job["comp"], job["status"], ", ".join(job["models"])):
            expect(row).to_contain_text(text)
    page.locator(f'#jobs tbody tr[data-id="{finished["tournament"]}"] a').click()
    expect(page).to_have_url(re.compile(rf"#/tournaments/{finished['tournament']}$"))
    expect(page.locator("#leaderboard")).to_be_visible()


def test_a_lineage_with_failed_candidates(page: Page, client: httpx.Client, finished: dict) -> None:
    job_id = finished["failing"]
    job = client.get(f"/jobs/{job_id}").json()
    lineage = client.get(f"/jobs/{job_id}/lineage").json()
    page.goto(f"/#/jobs/{job_id}")

    expect(page.locator("#tree .node")).to_have_count(lineage["total"])
    head = page.locator("#job-head")
    expect(head.locator('[data-field="status"]')).to_have_text(job["status"])
    expect(head.locator('[data-field="candidates"]')).to_have_text(f"{job['candidates']} ({job['ok']} ok)")
    expect(head.locator('[data-field="goal"]')).to_have_text(job["goal"])
    expect(page.locator("#standings tbody tr")).to_have_count(len(job["standings"]))

    failed = [c for c in lineage["items"] if c["status"] != "ok"]
    assert {"no_code", "runtime_error"} <= {c["status"] for c in failed}
    for candidate in failed:
        box = node(page, candidate["id"])
        expect(box).to_have_attribute("data-status", candidate["status"])
        expect(box).to_have_class(re.compile(r"\bfailed\b"))
        expect(box).to_contain_text(candidate["status"])
        expect(box).to_contain_text(candidate["error"][:12])
        assert candidate["error"] in box.locator("title").text_content()
    best = [s["best_candidate"] for s in job["standings"] if s["best"] == job["best"]]
    expect(page.locator("#tree .node.best")).to_have_attribute("data-id", str(best[0]))
    edges = [c for c in lineage["items"] if c["parent_id"] is not None]
    expect(page.locator("#tree path.edge:not(.target)")).to_have_count(len(edges))

    # a failed candidate: its reason and line, and why there is no chart
    broken = next(c for c in failed if c["status"] == "runtime_error")
    node(page, broken["id"]).click()
    panel = page.locator("#candidate")
    expect(panel.locator("h2")).to_contain_text(f"Candidate #{broken['id']}")
    expect(panel.locator(".error-box")).to_contain_text(broken["error"])
    expect(panel.locator(".error-box")).to_contain_text(f"line {broken['error_line']}")
    expect(panel.locator(".code .err-line")).to_have_count(1)
    expect(panel.locator(".no-chart")).to_contain_text(broken["status"])
    expect(panel.locator(".charts, a.png")).to_have_count(0)
    panel.locator("a.parent").click()  # the parent link selects the parent's node
    expect(page.locator("#tree .node.selected")).to_have_attribute("data-id", str(broken["parent_id"]))
    expect(panel.locator("h2")).to_contain_text(f"Candidate #{broken['parent_id']}")

    # an ok candidate with a parent: its code, the diff against the parent, its metrics and its charts
    chosen = next(c for c in reversed(lineage["items"]) if c["status"] == "ok" and c["parent_id"])
    detail = client.get(f"/candidates/{chosen['id']}").json()
    node(page, chosen["id"]).click()
    expect(page.locator("#tree .node.selected")).to_have_attribute("data-id", str(chosen["id"]))
    expect(panel.locator("h2")).to_contain_text(f"Candidate #{chosen['id']}")
    assert panel.locator("pre.code").text_content() == detail["code"]
    diff = detail["diff"].splitlines()
    assert panel.locator("pre.diff").text_content() == detail["diff"]
    added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in diff if line.startswith("-") and not line.startswith("---")]
    assert added and removed
    expect(panel.locator("pre.diff .add")).to_have_count(len(added))
    expect(panel.locator("pre.diff .del")).to_have_count(len(removed))
    expect(panel.locator("#metrics tbody tr")).to_have_count(len(detail["metrics"]))
    expect(panel.locator("a.export")).to_have_attribute("href", f"/candidates/{chosen['id']}/export")
    expect(panel.locator("a.png")).to_have_attribute("href", f"/candidates/{chosen['id']}/chart.png")
    run = client.get(f"/candidates/{chosen['id']}/run.json").json()
    charts = panel.locator(f'.charts[data-candidate="{chosen["id"]}"] .chart-panel')
    expect(charts).to_have_count(len(run["panels"]), timeout=CHART_TIMEOUT_MS)
    expect(charts.locator(".u-title")).to_have_text([chart["title"] for chart in run["panels"]])
    expect(panel.locator(".chart-note")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "page.png", full_page=True)


def test_a_candidates_charts_are_drawn_in_the_page_from_its_run(
    page: Page, client: httpx.Client, base_url: str, finished: dict
) -> None:
    """One uPlot chart per panel of run.json, as wide as the candidate's panel (as it narrows too); hovering shows the
    day and each line's value in the legend, dragging zooms on the days (every chart), a double-click resets. Nothing
    but the app's own server is asked for anything: uPlot is served from static/vendor/."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    job = client.get(f"/jobs/{finished['evolve']}").json()
    best = job["best_candidate"]
    run = client.get(f"/candidates/{best}/run.json").json()
    page.goto(f"/#/jobs/{job['id']}/candidates/{best}")

    charts = page.locator(f'#candidate .charts[data-candidate="{best}"] .chart-panel')
    expect(charts).to_have_count(len(run["panels"]), timeout=CHART_TIMEOUT_MS)
    expect(charts.locator("canvas")).to_have_count(len(run["panels"]))
    expect(charts.locator(".u-title")).to_have_text([chart["title"] for chart in run["panels"]])
    for chart, panel in zip(charts.all(), run["panels"], strict=True):
        labels = [line["label"] for line in panel["lines"]]
        expect(chart.locator(".u-legend .u-series th")).to_have_text(["day", *labels])
    as_wide = "() => [...document.querySelectorAll('#candidate .chart-panel .uplot')].every((chart) =>"
    as_wide += " Math.abs(chart.offsetWidth - document.querySelector('#candidate .charts').clientWidth) <= 1)"
    page.wait_for_function(as_wide)
    narrower = page.locator("#candidate .charts").evaluate("box => box.clientWidth")
    page.set_viewport_size({"width": 1100, "height": 900})  # the charts follow their panel's width
    page.wait_for_function(f"() => document.querySelector('#candidate .charts').clientWidth < {narrower}")
    page.wait_for_function(as_wide)

    days = charts.locator(".u-legend .u-series:first-child .u-value")  # each chart's legend's day

    def hover(at: float) -> int:
        """The day every chart's legend shows with the mouse at `at` of the first chart's width, moved there from
        above the charts (where the legends show no day)."""
        over = charts.first.locator(".u-over")
        over.scroll_into_view_if_needed()
        box = over.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * at, box["y"] - 40)
        expect(days).to_have_text(["—"] * len(run["panels"]))
        page.mouse.move(box["x"] + box["width"] * at, box["y"] + box["height"] / 2)
        expect(days).to_have_text([re.compile(r"^\d+$")] * len(run["panels"]))
        shown = set(days.all_inner_texts())
        assert len(shown) == 1, shown  # the cursors move together
        return int(shown.pop())

    middle = hover(0.5)
    assert abs(middle - run["days"][-1] / 2) <= 2
    for chart, panel in zip(charts.all(), run["panels"], strict=True):
        shown = chart.locator(".u-legend .u-series .u-value").all_inner_texts()[1:]
        for text, line in zip(shown, panel["lines"], strict=True):
            value = run["columns"][line["key"]][run["days"].index(middle)]
            assert (text == "—") if value is None else float(text) == pytest.approx(value, rel=5e-4, abs=1e-12)

    over = charts.first.locator(".u-over").bounding_box()
    assert over is not None
    page.mouse.move(over["x"] + over["width"] * 0.2, over["y"] + 20)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.4, over["y"] + 20, steps=4)
    page.mouse.up()
    zoomed = hover(0.5)
    assert middle * 0.4 < zoomed < middle * 0.8  # the middle of days ~20 % to ~40 % of the run
    page.mouse.dblclick(over["x"] + over["width"] * 0.5, over["y"] + 20)
    assert hover(0.5) == middle

    assert requested and all(url.startswith(f"{base_url}/") for url in requested), requested
    assert f"{base_url}/static/vendor/uPlot.iife.min.js" in requested


def test_charts_that_cannot_be_had_say_why(page: Page, client: httpx.Client, console: Console, finished: dict) -> None:
    """The server's error (here a 503 from a busy chart queue) where the charts would be; the PNG link stays."""
    job = client.get(f"/jobs/{finished['evolve']}").json()
    best = job["best_candidate"]
    busy = "the server is busy drawing charts (4 requests wait for their turn); retry in 3 s"
    page.route(f"**/candidates/{best}/run.json", lambda route: route.fulfill(status=503, json={"error": busy}))
    page.goto(f"/#/jobs/{job['id']}/candidates/{best}")
    panel = page.locator("#candidate")
    expect(panel.locator(".chart-note")).to_have_text(busy)
    expect(panel.locator(".chart-panel")).to_have_count(0)
    expect(panel.locator("a.png")).to_have_attribute("href", f"/candidates/{best}/chart.png")
    # the browser logs the 503 itself: that one is expected, any other error is not
    console.errors = [(text, url) for text, url in console.errors if not url.endswith("/run.json")]


def test_a_tournament_shows_its_leaderboard_and_matches(page: Page, client: httpx.Client, finished: dict) -> None:
    tournament_id = finished["tournament"]
    tournament = client.get(f"/tournaments/{tournament_id}").json()
    lineage = client.get(f"/jobs/{tournament_id}/lineage").json()
    page.goto(f"/#/tournaments/{tournament_id}")

    leaders = page.locator("#leaderboard tbody tr")
    expect(leaders).to_have_count(len(tournament["models"]))
    expect(leaders.locator("td:first-child")).to_have_text([row["model"] for row in tournament["leaderboard"]])
    expect(leaders.locator("td:nth-child(5)")).to_have_text([str(row["matches"]) for row in tournament["leaderboard"]])
    matches = page.locator("#matches tbody tr")
    expect(matches).to_have_count(len(tournament["matches"]))
    assert tournament["matches"]
    expect(matches.locator("td:nth-child(2)")).to_have_text([m["challenger"] for m in tournament["matches"]])
    outcomes = ["✓ won" if m["won"] else "✗ lost" for m in tournament["matches"]]
    expect(matches.locator("td:last-child")).to_have_text(outcomes)
    expect(page.locator("#tree .node")).to_have_count(lineage["total"])
    beats = [c for c in lineage["items"] if c["target_id"] is not None]
    assert beats
    expect(page.locator("#tree path.edge.target")).to_have_count(len(beats))
    expect(page.locator("#legend")).to_contain_text(tournament["models"][1])
    reference = tournament["reference"]  # ai3_plugins: an exact optimum, a held-out seed
    held = [
        scored(row["best_heldout"], row["heldout_share"], reference["heldout"]) for row in tournament["leaderboard"]
    ]
    expect(leaders.locator("td:nth-child(7)")).to_have_text(held)  # best, held-out, gap
    best = [scored(row["best"], row["share"], reference["train"]) for row in tournament["leaderboard"]]
    expect(leaders.locator("td:nth-child(6)")).to_have_text(best)
    assert all(row["share"] is not None for row in tournament["leaderboard"])
    expect(page.locator('#job-head [data-field="optimum"]')).to_have_text(
        f"{fmt(reference['train']['optimum'])} (exact)"
    )


def test_an_arena_tournament_shows_its_markets_and_bradley_terry(
    page: Page, client: httpx.Client, finished: dict
) -> None:
    arena_id = finished["arena"]
    arena = client.get(f"/tournaments/{arena_id}").json()
    assert len(arena["markets"]) == 1 and all(row["bt"] is not None for row in arena["leaderboard"])
    page.goto(f"/#/tournaments/{arena_id}")
    leaders = page.locator("#leaderboard tbody tr")
    expect(leaders.locator("td:nth-child(3)")).to_have_text([f"{row['bt']:.2f}" for row in arena["leaderboard"]])
    (market,) = arena["markets"]
    seats = page.locator("#markets tbody tr .seat")
    pairs = zip(market["models"], market["scores"], strict=True)
    expect(seats).to_have_text([f"{model} {fmt(score)}" for model, score in pairs])


def fmt(x: float | None, signed: bool = False) -> str:
    """A number as the page shows it (app.js `fmt`: four significant digits; `signed` for a gap)."""
    if x is None:
        return "—"
    value = float(f"{x:.4g}")
    text = str(int(value)) if value.is_integer() else repr(value)
    return f"+{text}" if signed and x >= 0 else text


def pct(share: float, digits: int = 1) -> str:
    """A share as the page shows it (app.js `pct`)."""
    return f"{share * 100:.{digits}f} %"


def scored(score: float | None, share: float | None, reference: dict | None) -> str:
    """A score with its share of the optimum profit beside it, as a table cell shows them: `51.5 (63.2 %)`, and
    `%*` for a share of the best known (a lower bound of the optimum)."""
    if share is None or reference is None:
        return fmt(score)
    return f"{fmt(score)} ({pct(share)}{'' if reference['exact'] else '*'})"


def test_a_job_shows_its_held_out_scores_and_gaps(page: Page, client: httpx.Client, finished: dict) -> None:
    job_id = finished["evolve"]
    job = client.get(f"/jobs/{job_id}").json()
    lineage = client.get(f"/jobs/{job_id}/lineage").json()["items"]
    page.goto(f"/#/jobs/{job_id}")

    head = page.locator("#job-head")
    held_out = job["reference"]["heldout"]
    expect(head.locator('[data-field="held-out"]')).to_have_text(
        scored(job["best_heldout"], job["heldout_share"], held_out)
    )
    expect(head.locator('[data-field="gap"]')).to_have_text(fmt(job["gap"], signed=True))
    expect(head.locator('[data-field="training seeds"]')).to_have_text("0")
    expect(head.locator('[data-field="held-out seeds"]')).to_have_text("7, 8")
    standings = page.locator("#standings tbody tr")
    held = [scored(s["best_heldout"], s["heldout_share"], held_out) for s in job["standings"]]
    expect(standings.locator("td:nth-child(3)")).to_have_text(held)
    expect(standings.locator("td:nth-child(4)")).to_have_text([fmt(s["gap"], True) for s in job["standings"]])
    chosen = next(c for c in lineage if c["heldout_score"] is not None)
    expect(node(page, chosen["id"]).locator("text.l2")).to_contain_text(f"h {fmt(chosen['heldout_score'])}")
    assert f"held-out {chosen['heldout_score']}" in node(page, chosen["id"]).locator("title").text_content()

    node(page, chosen["id"]).click()
    panel = page.locator("#candidate")
    expect(panel.locator("h2")).to_contain_text(f"Candidate #{chosen['id']}")
    expect(panel.locator('[data-field="held-out"]')).to_have_text(fmt(chosen["heldout_score"]))
    expect(panel.locator('[data-field="gap"]')).to_have_text(fmt(chosen["gap"], signed=True))
    expect(panel.locator('[data-field="held-out seeds"]')).to_have_text("7, 8")
    expect(panel.locator("#metrics thead")).to_contain_text("held-out")


def test_a_job_shows_the_shares_of_the_optimum_profit(page: Page, client: httpx.Client, finished: dict) -> None:
    """noisy_market's optimum is the best known plan's (a lower bound): every share says so."""
    job_id = finished["evolve"]
    job = client.get(f"/jobs/{job_id}").json()
    lineage = client.get(f"/jobs/{job_id}/lineage").json()["items"]
    train, held_out = job["reference"]["train"], job["reference"]["heldout"]
    assert (train["exact"], held_out["exact"]) == (False, False) and job["share"] is not None
    page.goto(f"/#/jobs/{job_id}")

    head = page.locator("#job-head")
    expect(head.locator('[data-field="best"]')).to_have_text(scored(job["best"], job["share"], train))
    expect(head.locator('[data-field="best"] .share')).to_have_attribute("title", re.compile("a lower bound"))
    expect(head.locator('[data-field="optimum"]')).to_have_text(f"{fmt(train['optimum'])} (best known: a lower bound)")
    expect(head.locator('[data-field="idle"]')).to_have_text(fmt(train["idle"]))
    bound = f"{fmt(held_out['optimum'])} (best known: a lower bound)"
    expect(head.locator('[data-field="held-out optimum"]')).to_have_text(bound)
    standings = page.locator("#standings tbody tr")
    expect(standings.locator("td:nth-child(2)")).to_have_text(
        [scored(s["best"], s["share"], train) for s in job["standings"]]
    )

    chosen = next(c for c in lineage if c["share"] is not None and c["heldout_share"] is not None)
    words = f"{pct(chosen['share'])} of the best known profit (a lower bound)"
    held_words = f"{pct(chosen['heldout_share'])} of the best known profit (a lower bound)"
    title = node(page, chosen["id"]).locator("title").text_content() or ""
    assert words in title and held_words in title, title
    expect(node(page, chosen["id"]).locator("text.l1")).to_contain_text(f"({pct(chosen['share'], 0)}*)")
    expect(node(page, chosen["id"]).locator("text.l2")).to_contain_text(f"({pct(chosen['heldout_share'], 0)}*)")

    node(page, chosen["id"]).click()
    panel = page.locator("#candidate")
    expect(panel.locator("h2")).to_contain_text(f"Candidate #{chosen['id']}")
    expect(panel.locator('[data-field="share"]')).to_have_text(words)
    expect(panel.locator('[data-field="held-out share"]')).to_have_text(held_words)

    page.goto("/#/")
    row = page.locator(f'#jobs tbody tr[data-id="{job_id}"]')
    expect(row).to_contain_text(scored(job["best"], job["share"], train))


def test_a_running_job_is_followed_live(browser: Browser, console: Console, tmp_path: Path) -> None:
    """A job whose model (the real openai SDK against the wire server) thinks a second per reply runs for several
    seconds in the server's process; the page opened on it meanwhile must follow it to the end by itself."""
    replies = [wire.Response(body=wire.openai_reply(text, 100, 20).body, delay=THINKING) for text in REPLIES]
    with WireServer(*replies) as model:
        settings = make_settings(tmp_path / "live.db", openai_base_url=f"{model.url}/v1", OPENAI_API_KEY="sk-test")
        with serving(create_app(settings)) as url, httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
            body = {"scenario": "ai3_plugins", "models": ["openai:gpt-4o-mini"], "generations": 2, "attempts": 3}
            submitted = client.post("/jobs", json=body)
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["id"]
            context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.on("pageerror", console.exception)
            page.on("console", console.message)
            polls: list[str] = []
            page.on("request", lambda r: polls.append(r.url) if r.url.endswith(f"/jobs/{job_id}") else None)
            page.goto(f"/#/jobs/{job_id}")

            status = page.locator('#job-head [data-field="status"]')
            expect(status).to_have_text(re.compile("pending|running"))
            seen_running = client.get(f"/jobs/{job_id}").json()["candidates"]
            expect(status).to_have_text("done", timeout=LIVE_TIMEOUT_MS)
            final = client.get(f"/jobs/{job_id}/lineage").json()
            assert seen_running < final["total"] == len(REPLIES)  # it was still writing candidates when the page looked
            expect(page.locator("#tree .node")).to_have_count(final["total"])
            expect(page.locator('#tree .node[data-status="runtime_error"]')).to_have_count(1)
            expect(page.locator('#job-head [data-field="candidates"]')).to_contain_text(str(final["total"]))
            assert len(polls) >= 3, polls  # the first look, then polls while it ran
            asked = len(polls)
            page.wait_for_timeout(2500)  # more than a poll's interval: a finished job is not asked again
            assert len(polls) == asked, polls
            context.close()
    assert console.errors == [], f"the page reported errors: {console.errors}"


def test_an_unknown_job_shows_the_api_error(page: Page, client: httpx.Client, console: Console) -> None:
    answer = client.get("/jobs/99999")
    assert answer.status_code == 404
    page.goto("/#/jobs/99999")
    expect(page.locator("#banner")).to_be_visible()
    expect(page.locator("#banner")).to_have_text(answer.json()["error"])
    expect(page.locator("#tree")).to_have_count(0)
    # the browser logs the 404 itself: that one is expected, any other error is not
    console.errors = [(text, url) for text, url in console.errors if not url.endswith("/jobs/99999")]
