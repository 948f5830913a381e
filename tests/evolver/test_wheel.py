"""A wheel install works: `pip install .` (not editable) ships the prompts, the migrations and the web page's files
(the vendored uPlot included) as package data, so `evolver evolve ai3_plugins` runs from a folder that has nothing
of the checkout beside it, and `evolver serve` has its page.

How the install is kept apart from the project's editable one (and fast, with no dependency downloads):

- The wheel is built from a copy of what a checkout builds from (pyproject.toml, README.md and the packages),
  never in the checkout itself: setuptools leaves build/ and *.egg-info behind, and its build/lib keeps files
  the source no longer has, so an in-place build could ship a stale template and hide a missing package-data
  entry. It is built as `pip install .` builds it, with build isolation (setuptools from the configured index,
  the same one `make test` installs from): the venv's own setuptools may be too old to build wheels (3.11's
  bundled 65.5 needs the `wheel` package) or absent (3.12+).
- The test venv is made with `python -m venv --without-pip` (from a venv, this uses the base interpreter, so it
  sees neither the project's venv nor the system's site-packages), and the wheel is installed into it with
  `--no-deps --no-index` by the project venv's pip (`pip --python`), while that venv still sees nothing else.
- Only then a `.pth` file adds the project venv's site-packages directory to the test venv's path, for the
  third-party dependencies. A directory named in a `.pth` file is only appended to `sys.path`; its own `.pth`
  files are not run, so the editable install's finder (`__editable__.evolver-*.pth`) is never installed, and
  the project's packages resolve to the wheel's files only (the test checks `__file__` of each).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("evolver", "sandbox", "simcore", "worker")

pytestmark = pytest.mark.integration


def run(args: list[str | Path], **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(arg) for arg in args], capture_output=True, text=True, check=False, **kwargs)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def source_copy(into: Path) -> Path:
    """What a checkout builds a wheel from: pyproject.toml, the readme and the packages it finds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    into.mkdir()
    for name in ("pyproject.toml", project["project"]["readme"]):
        shutil.copy2(ROOT / name, into / name)
    for name in sorted({pattern.rstrip("*").rstrip(".") for pattern in include}):
        shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return into


def files_under(folder: Path) -> set[Path]:
    """Every file under `folder`, relative to it."""
    return {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()}


def wheel_venv(tmp_path: Path) -> Path:
    """A fresh venv with the project's wheel installed and the project venv's dependencies on its path."""
    wheels = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source_copy(tmp_path / "src")],
        timeout=180)  # fmt: skip
    [wheel] = wheels.glob("evolver-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], timeout=60)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python]
    run([*pip, "install", "--no-deps", "--no-index", "-q", wheel], timeout=120)
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    ours = sysconfig.get_paths()
    deps = dict.fromkeys([ours["purelib"], ours["platlib"]])  # the project venv's site-packages, in order
    (site / "_project_venv_deps.pth").write_text("".join(f"{path}\n" for path in deps))
    return venv


def test_a_wheel_install_finds_its_prompts_and_migrations(tmp_path: Path) -> None:
    venv = wheel_venv(tmp_path)
    bin_ = venv / "bin"
    work = tmp_path / "elsewhere"  # far from the checkout: nothing is found beside it
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EVOLVER_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    env |= {
        "PATH": f"{bin_}{os.pathsep}{env.get('PATH', '')}",
        "EVOLVER_DATABASE_URL": f"sqlite:///{work / 'lineage.db'}",
    }

    where = (
        "import importlib, json, evolver.prompting as p, evolver.store.store as s; "
        f"files = {{n: importlib.import_module(n).__file__ for n in {PACKAGES!r}}}; "
        "print(json.dumps({'files': files, 'prompts': str(p.PROMPTS), 'migrations': str(s.MIGRATIONS)}))"
    )
    found = json.loads(run([bin_ / "python", "-c", where], cwd=work, env=env, timeout=60).stdout)
    site = venv.resolve()
    for name, file in found["files"].items():
        assert Path(file).resolve().is_relative_to(site), f"{name} imported from {file}, not the wheel"
    prompts, migrations = Path(found["prompts"]), Path(found["migrations"])
    assert prompts.resolve().is_relative_to(site) and migrations.resolve().is_relative_to(site)
    assert {"system.j2", "init.j2", "improve.j2", "beat.j2", "repair.j2"} <= {p.name for p in prompts.iterdir()}
    assert (migrations / "env.py").is_file() and (migrations / "script.py.mako").is_file()
    assert sorted(p.name for p in (migrations / "versions").glob("*.py"))[0].startswith("0001_")
    static = Path(found["files"]["evolver"]).parent / "api" / "static"
    assert files_under(static) == files_under(ROOT / "evolver" / "api" / "static")  # the page, uPlot and its licence
    assert {"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"} <= {p.name for p in (static / "vendor").iterdir()}

    evolver = bin_ / "evolver"
    upgraded = run([evolver, "db", "upgrade"], cwd=work, env=env, timeout=60)
    assert "Traceback" not in upgraded.stderr
    evolved = run([evolver, "evolve", "ai3_plugins", "--generations", "2"], cwd=work, env=env, timeout=120)
    assert "done" in evolved.stdout, evolved.stdout
    status = run([evolver, "status", "1"], cwd=work, env=env, timeout=60)
    assert "done" in status.stdout, status.stdout
    assert (work / "lineage.db").is_file()
    assert not (work / "evolver.db").exists()
