"""Scenarios pinned to their job: what a job was submitted with is what every later read, worker, resume and
export runs, from any folder and any machine.

At submit the scenario module's text is read once (a built-in's own file, or the user's `.py` file) and stored
with the job with its sha256. `job_scenario(job)` then gives what to load: a built-in's name while the installed
built-in has the same text, else the stored text written to a file named by its hash, in a folder of this user's
under /tmp (where the sandbox works, whatever $TMPDIR says), readable by the sandbox's children. A scenario file
is pinned as one module: a sibling module it imports is not pinned with it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from evolver.errors import EvolverError
from evolver.store import JobRow
from sandbox.pool import BASE
from simcore import Scenario, ScenarioError, builtin_names, load_scenario

MAX_SOURCE_BYTES = 1_000_000  # a scenario module's text, stored with every job that runs it


@dataclass(frozen=True)
class Pinned:
    """A scenario as submitted: the name shown (a built-in's, or the file's path as given), its text and hash."""

    name: str
    source: str
    digest: str

    @property
    def ref(self) -> str:
        """What to load it by: the built-in's name, or the pinned copy of the file."""
        return scenario_ref(self.name, self.source, self.digest)


def pin(ref: str) -> Pinned:
    """Reads the scenario's text once; ScenarioError when `ref` is neither a built-in nor a readable `.py` file."""
    path = _builtin_path(ref) if ref in builtin_names() else Path(ref)
    if path.suffix != ".py" or not path.is_file():
        load_scenario(ref)  # raises its own message: unknown scenario, with the built-ins listed
        raise ScenarioError(f"scenario {ref!r} is not a .py file")
    data = path.read_bytes()
    if len(data) > MAX_SOURCE_BYTES:
        raise ScenarioError(f"scenario file {ref} is {len(data):,} bytes; at most {MAX_SOURCE_BYTES:,} are stored")
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"scenario file {ref} is not UTF-8 text: {exc}") from None
    return Pinned(ref, source, _digest(source))


def job_scenario(job: JobRow) -> str:
    """What to load the job's scenario by (a job stored before scenarios were pinned: its name as stored)."""
    if job.scenario_source is None or job.scenario_hash is None:
        return job.scenario
    return scenario_ref(job.scenario, job.scenario_source, job.scenario_hash)


def check_components(job: JobRow, scenario: Scenario) -> Scenario:
    """The job's scenario, once its components are checked to be those it was submitted with (a pinned text names a
    component, not its code); an EvolverError names a component whose definition changed since."""
    stored, now = job.scenario_components, dict(scenario.components)
    if stored is not None and now != stored:
        changed = sorted(key for key in {*stored, *now} if stored.get(key) != now.get(key))
        moves = ", ".join(f"{key}: {stored.get(key, 'none')} -> {now.get(key, 'none')}" for key in changed)
        raise EvolverError(
            f"job {job.id}'s scenario {job.scenario!r} no longer composes what it was submitted with ({moves}): a "
            "component's definition changed since; submit the job anew"
        )
    return scenario


def scenario_ref(name: str, source: str, digest: str) -> str:
    """A built-in's name while the installed one has this text; else the path of the text's pinned copy."""
    if name in builtin_names() and _digest(_builtin_path(name).read_text(encoding="utf-8")) == digest:
        return name
    if _digest(source) != digest:
        raise EvolverError(f"the stored text of scenario {name!r} does not match its hash: the store was altered")
    stem = re.sub(r"\W", "_", Path(name).stem) or "scenario"
    path = _folder() / digest / f"{stem}.py"
    if not (path.is_file() and _digest(path.read_text(encoding="utf-8")) == digest):
        path.parent.mkdir(exist_ok=True)
        path.parent.chmod(0o755)  # whatever the umask: the sandbox's children may run as another user
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as file:
            file.write(source)
        os.chmod(file.name, 0o644)
        os.replace(file.name, path)
    return str(path)


def _folder() -> Path:
    """This user's folder of pinned scenarios: refused if someone else owns it or may write to it."""
    folder = Path(BASE) / f"evolver-scenarios-{os.getuid()}"
    folder.mkdir(mode=0o755, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise EvolverError(f"{folder} is not a folder of this user's: remove it")
    folder.chmod(0o755)
    return folder


def _builtin_path(name: str) -> Path:
    spec = importlib.util.find_spec(f"simcore.scenarios.{name}")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin)


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()
