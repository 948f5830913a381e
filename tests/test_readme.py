"""Every fenced block of README.md runs here as written (issue 13), so the README cannot drift from the product.

A section's blocks run in order in one fresh folder that holds what `make run` leaves (its own `evolver`
commands run once, as the setup: job 1 in evolver.db), the way a reader goes on from `make run`. A shell block
runs with bash (`set -euo pipefail`, and a trap of the test's that ends whatever the block left running, even
when it fails); a Python block runs with the venv's python, statement by statement, and an expression followed by
a comment that is a Python literal (`result.nvars["ail"]  # 71`) must equal it. The environment: the venv's bin
first on PATH (`evolver`, `celery`, `python3`), the store in the folder, one sandbox worker; `openai:` models talk
through the real SDK to a WireServer that answers players; the queue's block runs on a throwaway Redis and
PostgreSQL (their addresses replace the README's, the only change made to a block) with the workers the block
starts itself.

A block the suite cannot run is in EXEMPT with the reason. A new block fails
`test_every_readme_block_is_run_or_exempt` until it is added to BLOCKS (with what it must print), and then its
section's test runs it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import postgres
import pytest
import redis_server
from wire import WireServer, openai_error, openai_reply

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sysconfig.get_path("scripts"))  # the venv's bin: evolver, celery, python
SHELLS = {"bash", "sh", "shell", "console", "zsh"}
MARKER = "EVOLVER_README_TEST_RUN"  # in every block's environment: finds what a block left running

TOP = "(top)"  # before the first `##` heading
HTTP = "The web page and the HTTP API"
TOURNAMENTS = "Tournaments"
SEARCH = "How the search climbs: tuning, the archive and feedback"
GAMES = "Games: random markets, held-out seeds, arenas and references"
VERIFY = "Verifying a design: criteria, yield, rare failures, corners, sensitivity"
QUEUE = "The queue: Celery workers over Redis"
FAILURES = "When a model fails, a run is stopped, or the store is older"
CLI = "The command line"
SCENARIO = "Writing a scenario"

# (section, first line without its comment) -> the block's commands (without comments) and why the suite does
# not run them.
EXEMPT = {
    (TOP, "make run"): (
        ("make run", "make test"),
        "the two commands of a fresh clone, which CI runs: `make test` runs this suite and cannot run inside it, "
        "and both create the .venv this suite runs in; `make run`'s own commands (the Makefile's `$(BIN)/evolver` "
        "lines) are the setup of every section here",
    ),
}

MATRIX = "evolver verify ocean_v3 ocean_1ss ocean_1ss_dutch_pool --runs 10 --adversary local:gp --generations 1 " + (
    "--chart matrix.png"
)
TOURNAMENT = (
    "evolver tournament ai3_plugins --model local:gp --model local:random --rounds 3 --attempts 2 --seed 0 --seed 1"
)

# (section, first line without its comment) -> what the block must print, besides exiting 0.
BLOCKS: dict[tuple[str, str], tuple[str, ...]] = {
    (TOP, "evolver jobs"): ("#13 ", "chosen: parent #", "wrote player.py", "job 2: done"),
    (HTTP, 'export EVOLVER_API_TOKEN=$(python3 -c "import secrets; print(secrets.token_urlsafe(32))")'): (
        '"id":2',
        '"status": "done"',
    ),
    (TOURNAMENTS, TOURNAMENT): ("tournament 2: done", "rating"),
    (SEARCH, "evolver evolve ai3_plugins --generations 40 --attempts 1"): (
        *("job 2: done", " tune local:gp", "ideas #", "chosen: parent #", "why: "),
    ),
    (GAMES, "evolver games"): (
        *("hidden_bots", "randomised hidden arena", "exact", "job 2: done", "tournament 3: done", "bt", "job 4: done"),
    ),
    (GAMES, '"""A fee-free pool whose buyer buys a hidden amount below a hidden price."""'): (),
    (GAMES, "evolver reference my_game.py"): ("Reference of my_game", "held-out", "job 5: done"),
    (VERIFY, MATRIX): (
        *("Avoids large price swings", "No risk of exit scam after IDO", "adversary job 2", "wrote matrix.png"),
        *("estimate", "worst corners", "morris sensitivity", "econ_volatility"),
    ),
    (QUEUE, "export EVOLVER_BROKER_URL=redis://127.0.0.1:6379/0"): ("tournament 1 queued", "tournament 1: ai3_plugins"),
    (FAILURES, "evolver evolve ai3_plugins --generations 3 --replay 1"): (
        "job 2: done",
        "openai:gpt-4o",
        "exit 1",
        "job 3: done",
        "(head)",
    ),
    (CLI, "evolver --version"): (f"evolver {importlib.metadata.version('evolver')}\n", "my_token: 1 year"),
    (CLI, "cat > player.py <<'PY'"): ("ok: score", "wrote player.png"),
    (SCENARIO, '"""A buyer of $AI for $USDC at a price of $1 or less."""'): (),
    (SCENARIO, "import simcore"): ("71 as its comment says", "{'iusdcl': 25} as its comment says"),
}

# The name the README gives a Python block's file.
FILES = {
    (SCENARIO, '"""A buyer of $AI for $USDC at a price of $1 or less."""'): "my_token.py",
    (GAMES, '"""A fee-free pool whose buyer buys a hidden amount below a hidden price."""'): "my_game.py",
}

# A player, as the wire server's model writes it (in a fenced block, as the real models do).
PLAYER = (
    "```python\ndef fn(i, v, r, s, p):\n    if v['price'] < 0.9:\n        p['dex'].buyA(5)\n"
    "    elif v['price'] > 1.0:\n        p['dex'].sellA(5)\n```"
)
KEY = "sk-readme-test"

# The test's own, before every shell block: whatever the block left running in its process group ends with it,
# even when it fails (SIGTERM, then up to 10 s for its jobs to exit); run() kills what is left.
PROLOGUE = """set -euo pipefail
trap 'status=$?; trap "" TERM; kill -TERM 0 2>/dev/null || true
for _ in $(seq 100); do [ -z "$(jobs -pr)" ] && break; sleep 0.1; done; exit $status' EXIT
"""

# Runs a Python block statement by statement; an expression whose line ends in a comment that is a Python
# literal must equal it.
CHECKER = """
import ast, io, sys, tokenize

path = sys.argv[1]
source = open(path).read()
tokens = tokenize.generate_tokens(io.StringIO(source).readline)
comments = {token.start[0]: token.string[1:].strip() for token in tokens if token.type == tokenize.COMMENT}
namespace = {"__name__": "__main__", "__file__": path}
for node in ast.parse(source, path).body:
    if not isinstance(node, ast.Expr):
        exec(compile(ast.Module([node], []), path, "exec"), namespace)
        continue
    value = eval(compile(ast.Expression(node.value), path, "eval"), namespace)
    try:
        expected = ast.literal_eval(comments.get(node.end_lineno, ""))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        continue
    if not value == expected:
        code = ast.get_source_segment(source, node)
        sys.exit(f"{path}, line {node.lineno}: {code} is {value!r}, its comment says {expected!r}")
    print(f"line {node.lineno}: {value!r} as its comment says")
"""


@dataclass(frozen=True)
class Block:
    """A fenced block of the README: its `##` section, its language, its text and the line it starts on."""

    section: str
    lang: str
    text: str
    line: int

    @property
    def key(self) -> tuple[str, str]:
        first = next(line for line in self.text.splitlines() if line.strip())
        return self.section, re.sub(r"\s+#.*$", "", first).strip()


def readme_blocks() -> list[Block]:
    """Every fenced block (``` or ~~~, any language), in order."""
    lines = README.read_text().splitlines()
    blocks, section, number = [], TOP, 0
    while number < len(lines):
        line = lines[number]
        fence = re.match(r"\s*(`{3,}|~{3,})\s*([^\s`]*)", line)
        if fence:
            marker, lang = fence.group(1), fence.group(2).lower()
            end = number + 1
            while end < len(lines) and not lines[end].strip().startswith(marker):
                end += 1
            assert end < len(lines), f"README.md line {number + 1}: a fence that is never closed"
            blocks.append(Block(section, lang, "\n".join(lines[number + 1 : end]) + "\n", number + 1))
            number = end + 1
            continue
        if heading := re.match(r"##\s+(.+)", line):
            section = heading.group(1).strip()
        number += 1
    return blocks


def blocks_of(section: str) -> list[Block]:
    """The section's blocks that run, in the README's order."""
    blocks = [block for block in readme_blocks() if block.section == section and block.key not in EXEMPT]
    assert blocks, f"README.md has no runnable block under '## {section}' any more"
    return blocks


def make_run_commands() -> list[str]:
    """`make run`'s own commands: the `$(BIN)/evolver` lines of its recipe in the Makefile."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(number for number, line in enumerate(lines) if re.match(r"run\s*:", line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().lstrip("@"))
    commands = [line.replace("$(BIN)/", "") for line in recipe if line.startswith("$(BIN)/evolver ")]
    assert any(command.startswith("evolver evolve ai3_plugins") for command in commands), (
        f"`make run` no longer runs `evolver evolve ai3_plugins`, which the README's ids count on: {recipe}"
    )
    return commands


def environment(folder: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any evolver setting or model key, plus the README's setup."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("EVOLVER_") and name not in {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}
    }
    return {
        **inherited,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "EVOLVER_DATABASE_URL": f"sqlite:///{folder / 'evolver.db'}",
        "EVOLVER_SANDBOX_WORKERS": "1",
        MARKER: uuid.uuid4().hex,
        **settings,
    }


def run(argv: list[str], folder: Path, env: Mapping[str, str], what: str, timeout: float = 120) -> str:
    """Runs a command in its own process group in `folder`; returns its output (stdout and stderr). Fails the
    test when it exits non-zero or overruns `timeout`, and when it leaves a process behind."""
    log = folder.parent / f"{folder.name}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=folder, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            code: int | None = process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            left = _end_marked(env[MARKER])
    output = log.read_text(errors="replace")
    if code is None:
        pytest.fail(f"{what} did not end within {timeout:g} s; its output:\n{output[-8000:]}", pytrace=False)
    if code != 0:
        pytest.fail(f"{what} failed (exit {code}); its output:\n{output[-8000:]}", pytrace=False)
    assert not left, f"{what} left processes running (killed now): {left}"
    return output


def _marked(marker: str) -> list[int]:
    """The processes that have this run's marker in their environment."""
    found, wanted = [], f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def _end_marked(marker: str, grace: float = 10.0) -> list[int]:
    """Waits `grace` seconds for the run's processes outside its group to end, then kills them; returns those
    it had to kill."""
    deadline = time.monotonic() + grace
    while (left := _marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def run_section(
    section: str, folder: Path, env: Mapping[str, str], replace: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Runs the section's blocks in order in `folder`; checks each one's output; returns the outputs by first
    line. `replace` changes a string that occurs exactly once in the section's blocks (the servers' addresses)."""
    outputs, replaced = {}, dict.fromkeys(replace or {}, 0)
    for block in blocks_of(section):
        what = f"README.md line {block.line} ({block.section}: {block.key[1]})"
        text = block.text
        for old, new in (replace or {}).items():
            replaced[old] += text.count(old)
            text = text.replace(old, new)
        if block.lang in SHELLS:
            output = run(["bash", "-c", PROLOGUE + text], folder, env, what)
        else:
            assert block.lang == "python", f"{what}: a {block.lang!r} block"
            path = folder / FILES.get(block.key, f"readme_line_{block.line}.py")
            path.write_text(text)
            checker = folder.parent / "readme_checker.py"
            checker.write_text(CHECKER)
            output = run([str(BIN / "python"), str(checker), path.name], folder, env, what)
        missing = [expected for expected in BLOCKS[block.key] if expected not in output]
        assert not missing, f"{what} did not print {missing}; its output:\n{output[-8000:]}"
        outputs[block.key[1]] = output
    assert all(count == 1 for count in replaced.values()), f"not once in '## {section}': {replaced}"
    return outputs


@pytest.fixture(scope="module")
def after_make_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder as `make run` leaves it: its own commands run there once (job 1 in evolver.db)."""
    folder = tmp_path_factory.mktemp("make-run") / "clone"
    folder.mkdir()
    script = PROLOGUE + "\n".join(make_run_commands()) + "\n"
    run(["bash", "-c", script], folder, environment(folder), "`make run`'s commands")
    return folder


@pytest.fixture
def folder(tmp_path: Path, after_make_run: Path) -> Path:
    """A fresh copy of the folder `make run` left, for one section."""
    copy = tmp_path / "clone"
    shutil.copytree(after_make_run, copy)
    return copy


def test_every_readme_block_is_run_or_exempt():
    blocks = readme_blocks()
    assert blocks and {block.lang for block in blocks} <= SHELLS | {"python"}, [
        (block.line, block.lang) for block in blocks if block.lang not in SHELLS | {"python"}
    ]
    keys = [block.key for block in blocks]
    assert len(set(keys)) == len(keys), f"two blocks start alike in one section: {keys}"
    new = [f"line {block.line}: {block.key}" for block in blocks if block.key not in BLOCKS | EXEMPT]
    assert not new, (
        f"README blocks that no test runs: {new}. Add each to BLOCKS in {Path(__file__).name} (its section's "
        "test then runs it, in order, in the section's folder) or to EXEMPT with the reason"
    )
    for block in blocks:
        if block.key in EXEMPT:
            commands = tuple(re.sub(r"\s+#.*$", "", line).strip() for line in block.text.splitlines() if line.strip())
            assert commands == EXEMPT[block.key][0], f"line {block.line}: an exempt block changed: {commands}"
    gone = sorted((set(BLOCKS) | set(EXEMPT)) - set(keys))
    assert not gone, f"blocks no longer in the README: {gone}; remove them from BLOCKS or EXEMPT"
    tested = {TOP, HTTP, TOURNAMENTS, SEARCH, GAMES, VERIFY, QUEUE, FAILURES, CLI, SCENARIO}  # each has a test
    assert {section for section, _ in BLOCKS} == tested


@pytest.mark.integration
def test_make_run_then_the_tour_of_its_results(folder):
    """`evolver jobs`, `lineage 1`, `show 13`, `export` and a job of local:gp and openai:gpt-4o (a wire server
    behind the real SDK)."""
    with WireServer(openai_reply(PLAYER, tokens_in=1000, tokens_out=200)) as model:
        env = environment(folder, OPENAI_API_KEY=KEY, EVOLVER_OPENAI_BASE_URL=f"{model.url}/v1")
        run_section(TOP, folder, env)
    assert model.requests and {request.headers["authorization"] for request in model.requests} == {f"Bearer {KEY}"}
    assert (folder / "player.py").is_file()


@pytest.mark.integration
def test_the_http_example_waits_for_the_server_and_stops_it(folder):
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(("127.0.0.1", 8000))
        except OSError as error:
            pytest.fail(f"port 8000, which the README's HTTP example serves on, is taken: {error}", pytrace=False)
    run_section(HTTP, folder, environment(folder))


@pytest.mark.integration
def test_the_tournament(folder):
    run_section(TOURNAMENTS, folder, environment(folder))


@pytest.mark.integration
def test_how_the_search_climbs(folder):
    run_section(SEARCH, folder, environment(folder))


@pytest.mark.integration
def test_the_games_and_a_game_of_ones_own(folder):
    run_section(GAMES, folder, environment(folder))


@pytest.mark.integration
def test_verifying_designs(folder):
    run_section(VERIFY, folder, environment(folder))


def test_the_queue_with_its_worker_and_sweeper_on_redis_and_postgresql(folder):
    with redis_server.running() as broker, postgres.running() as server:
        database = postgres.create_database(server, "evolver")
        addresses = {  # the README's addresses, as written; the servers here listen on free ports
            "redis://127.0.0.1:6379/0": broker,
            "postgresql+psycopg://evolver@127.0.0.1/evolver": database,
        }
        run_section(QUEUE, folder, environment(folder), replace=addresses)


@pytest.mark.integration
def test_replay_a_wrong_key_resume_and_db_upgrade(folder):
    """The wrong key's call gets the 401 a real server gives it; the resumed job's calls get players."""
    refused = openai_error(401, "Incorrect API key provided: sk-wrong.", "invalid_request_error")
    with WireServer(refused, openai_reply(PLAYER, tokens_in=1000, tokens_out=200)) as model:
        env = environment(folder, OPENAI_API_KEY=KEY, EVOLVER_OPENAI_BASE_URL=f"{model.url}/v1")
        run_section(FAILURES, folder, env)
    keys = [request.headers["authorization"] for request in model.requests]
    assert keys[0] == "Bearer sk-wrong" and len(keys) > 1 and set(keys[1:]) == {f"Bearer {KEY}"}, keys


@pytest.mark.integration
def test_the_command_line(folder):
    """With the scenario of "Writing a scenario" saved as my_token.py, as its `evolver simulate` line says."""
    scenario = blocks_of(SCENARIO)[0]
    assert scenario.lang == "python" and "players = " in scenario.text
    (folder / "my_token.py").write_text(scenario.text)
    run_section(CLI, folder, environment(folder))
    assert {"out.json", "stats.csv", "chart.png", "eval.json", "player.png"} <= {p.name for p in folder.iterdir()}


@pytest.mark.integration
def test_writing_a_scenario_and_simcore_from_python(folder):
    run_section(SCENARIO, folder, environment(folder))
