"""Stopping an in-process run with a signal, as `kill`, `timeout`, a container stop or Ctrl-C do, and continuing it.

Every run here is a real `evolver` process on a real SQLite store. A run stopped by SIGTERM or SIGINT must end
promptly with 143 or 130, leave its job `interrupted` with the way to continue it, leave no sandbox process
behind, and `evolver resume` must then finish it with exactly the candidates the same spec gives uninterrupted
(the same tries, code, scores and parents: nothing written twice, nothing lost).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery_worker import descendants

from evolver.engine import Engine
from evolver.errors import Interrupted, StoreError
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.state import interrupted
from evolver.store import Store
from sandbox import SandboxPool

pytestmark = pytest.mark.integration

EVOLVER = str(Path(sys.executable).with_name("evolver"))
GENERATIONS = 25  # one candidate each, ~0.1 s apiece: the run goes on well past the signal sent at its third
SPEC = JobSpec(scenario="ai3_plugins", generations=GENERATIONS, attempts=1)
EVOLVE = ("evolve", "ai3_plugins", "--generations", str(GENERATIONS), "--attempts", "1")
SIGNALLED = {signal.SIGTERM: 143, signal.SIGINT: 130}
EXIT_TIMEOUT = 20.0  # seconds a signalled run may take to stop


def outcome(store: Store, job_id: int) -> list[tuple]:
    """What a run produced, whatever its row ids and write order: each try with its code, score and parents."""
    rows = store.lineage(job_id)
    keys = {row.id: row.key.split(":", 1)[1] for row in rows}
    tries = [
        (keys[row.id], row.model_id, row.op, row.code_hash, row.status, row.score, row.improved,
         keys.get(row.parent_id), keys.get(row.target_id))
        for row in rows
    ]  # fmt: skip
    return sorted(tries)


@pytest.fixture(scope="module")
def reference(pool: SandboxPool, tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """SPEC run in-process, uninterrupted, on a store of its own: what every interrupted run must end with."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('reference') / 'reference.db'}")
    store.upgrade()
    expected = outcome(store, Engine(store, Settings(broker_url=None), pool).execute(SPEC))
    store.close()
    assert len(expected) == GENERATIONS
    return expected


class Cli:
    """`evolver` processes on one SQLite store, run in one folder; every process still running at the end is
    killed."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.database = folder, folder / "x.db"
        self.url = f"sqlite:///{self.database}"
        self.env = {**os.environ, "EVOLVER_DATABASE_URL": self.url, "EVOLVER_SANDBOX_WORKERS": "1"}
        self.env.pop("EVOLVER_BROKER_URL", None)
        self.started: list[subprocess.Popen] = []
        self._store: Store | None = None

    def start(self, *args: str) -> subprocess.Popen:
        """Starts `evolver ARGS`, its output in files (`output()` reads them); SIGINT has its default action, as
        in a terminal's foreground job, even if this test process ignores it."""
        n = len(self.started)
        with (self.folder / f"out{n}").open("w") as out, (self.folder / f"err{n}").open("w") as err:
            process = subprocess.Popen(
                [EVOLVER, *args], cwd=self.folder, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                preexec_fn=_default_sigint,
            )  # fmt: skip
        self.started.append(process)
        return process

    def output(self, process: subprocess.Popen) -> tuple[str, str]:
        n = self.started.index(process)
        return (self.folder / f"out{n}").read_text(), (self.folder / f"err{n}").read_text()

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [EVOLVER, *args], cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    @property
    def store(self) -> Store:
        """The store the processes write (opened once its file exists: opening it would create it)."""
        if self._store is None:
            assert self.database.exists()
            self._store = Store(self.url)
        return self._store

    def candidates(self, job_id: int) -> int:
        """How many candidates the job has so far (0 while the store is created or migrated)."""
        if not self.database.exists():
            return 0
        try:
            return self.store.count_candidates(job_id)[0]
        except StoreError:  # no tables yet, or locked for the moment
            return 0

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()
        if self._store is not None:
            self._store.close()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    cli = Cli(tmp_path)
    try:
        yield cli
    finally:
        cli.close()


def stop_when(
    cli: Cli, process: subprocess.Popen, job_id: int, candidates: int, signum: signal.Signals
) -> tuple[int, list[Path]]:
    """Sends `signum` once the job has `candidates` candidates; the process's exit code and its sandbox's folders.
    Checks that it stopped within EXIT_TIMEOUT and left none of its sandbox processes running."""
    deadline = time.monotonic() + 60
    while cli.candidates(job_id) < candidates:
        if process.poll() is not None:
            out, err = cli.output(process)
            pytest.fail(f"the run ended ({process.returncode}) before it had {candidates} candidates:\n{out}\n{err}")
        assert time.monotonic() < deadline, f"no {candidates} candidates after 60 s"
        time.sleep(0.01)
    family = descendants(process.pid)
    folders = [folder for pid in family if (folder := sandbox_folder(pid))]
    assert folders, f"no sandbox warm parent under the run: {family}"
    process.send_signal(signum)
    try:
        code = process.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{signum.name} did not stop the run within {EXIT_TIMEOUT} s")
    deadline = time.monotonic() + 10
    while alive := [pid for pid in family if running(pid)]:
        assert time.monotonic() < deadline, f"sandbox processes left behind by the stopped run: {alive}"
        time.sleep(0.05)
    return code, folders


def assert_removed(folders: list[Path]) -> None:
    """The stopped run closed its sandbox pool, which removes the warm parents' folder (checked last, so that a
    leak does not hide what the test checks before it)."""
    left = sorted({str(folder) for folder in folders if folder.exists()})
    assert not left, f"the stopped run left its sandbox folder behind (its pool was not closed): {left}"


def sandbox_folder(pid: int) -> Path | None:
    """The working folder of a sandbox warm parent (`python -P -s -m sandbox FOLDER`), None for another process."""
    with contextlib.suppress(OSError):
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"sandbox" in args and args.index(b"sandbox") > 0 and args[args.index(b"sandbox") - 1] == b"-m":
            return Path(os.fsdecode(args[args.index(b"sandbox") + 1]))
    return None


def running(pid: int) -> bool:
    """Whether `pid` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def assert_interrupted(cli: Cli, process: subprocess.Popen, code: int, signum: signal.Signals, job_id: int) -> None:
    """The run ended as an interrupted one: its exit code, the job's status and error, and what it printed."""
    out, err = cli.output(process)
    message = f"interrupted ({signum.name}): `evolver resume {job_id}` continues it"
    if code == 0:
        pytest.fail(f"the run finished before the signal reached it: give it more than {GENERATIONS} generations")
    assert code == SIGNALLED[signum], f"exit {code}\n{out}\n{err}"
    job = cli.store.job(job_id)
    assert (job.status, job.error) == ("interrupted", message)
    assert f"job {job_id} {message}" in err
    assert f"`evolver resume {job_id}`" in err
    assert "Traceback" not in err
    assert cli.candidates(job_id) < GENERATIONS


def resume_to_the_end(cli: Cli, job_id: int, reference: list[tuple]) -> None:
    """`evolver resume` finishes the job: what was written before is kept as it was, and the whole equals the
    uninterrupted run's."""
    before = cli.store.lineage(job_id)
    result = cli.run("resume", str(job_id))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"job {job_id}: done" in result.stdout
    assert cli.store.job(job_id).status == "done"
    after = cli.store.lineage(job_id)
    assert after[: len(before)] == before, "candidates written before the interruption were changed"
    assert len({row.key for row in after}) == len(after), "a try was written twice"
    assert outcome(cli.store, job_id) == reference


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_run_is_interrupted_and_resume_finishes_it_as_if_never_stopped(cli, reference, signum):
    process = cli.start(*EVOLVE)
    code, folders = stop_when(cli, process, job_id=1, candidates=3, signum=signum)
    assert_interrupted(cli, process, code, signum, job_id=1)
    resume_to_the_end(cli, 1, reference)
    assert_removed(folders)


def interrupted_after_one_step(cli: Cli, pool: SandboxPool) -> int:
    """SPEC submitted to the CLI's store and stopped by SIGTERM after its first try, as an in-process run is."""
    store = Store(cli.url)
    store.upgrade()
    engine = Engine(store, Settings(broker_url=None), pool)
    job_id = engine.submit(SPEC)
    (step,) = engine.advance(job_id).steps
    engine.propose(step)
    engine.evaluate(step)
    interrupted(store, job_id, Interrupted("SIGTERM"))
    store.close()
    return job_id


def test_a_resume_stopped_by_sigterm_is_interrupted_again_and_resumable(cli, pool, reference):
    job_id = interrupted_after_one_step(cli, pool)
    assert cli.store.job(job_id).status == "interrupted"
    process = cli.start("resume", str(job_id))
    code, folders = stop_when(cli, process, job_id, candidates=4, signum=signal.SIGTERM)
    assert_interrupted(cli, process, code, signal.SIGTERM, job_id)
    resume_to_the_end(cli, job_id, reference)
    assert_removed(folders)


def test_watch_returns_on_an_interrupted_job_with_exit_1(cli, pool):
    job_id = interrupted_after_one_step(cli, pool)
    watched = cli.run("watch", str(job_id), "--interval", "0.1", timeout=30)
    assert watched.returncode == 1, watched.stdout + watched.stderr
    assert "interrupted (SIGTERM): `evolver resume 1` continues it" in " ".join(watched.stdout.split())
    status = cli.run("status", str(job_id), timeout=30)
    assert status.returncode == 0 and "interrupted" in status.stdout
    listed = cli.run("jobs", timeout=30)
    assert listed.returncode == 0 and "interrupted" in listed.stdout
