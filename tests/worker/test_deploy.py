"""The deployment files: docker-compose.yml, the Dockerfile, .env.example, and what `make test` needs of the
system (scripts/system-deps.sh, which .ci/run uses through `make test`).

The compose file is read as YAML, and its healthchecks are run here against the real processes; where docker with
compose is installed, `docker compose config` checks the file, and where an engine answers too, a test brings the
whole stack up (`docker compose up --wait`) and sends a job through it. Elsewhere those say why they skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis_server
import yaml
from api_server import make_settings, serving
from celery_worker import descendants
from pydantic import AliasChoices
from sqlalchemy.engine import make_url

from evolver.api import create_app
from evolver.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
CI_RUN = ROOT / ".ci" / "run"
SYSTEM_DEPS = ROOT / "scripts" / "system-deps.sh"
BIN = Path(sys.executable).parent  # the venv's: celery, evolver

SERVICES = ("redis", "postgres", "ollama", "migrate", "worker", "beat", "api", "flower")
PROJECT_SERVICES = ("migrate", "worker", "beat", "api", "flower")
CELERY_SERVICES = ("worker", "beat", "flower")
LONG_RUNNING = ("redis", "postgres", "ollama", "worker", "beat", "api", "flower")  # all but the one-shot migrate
IMAGE = "evolver:local"
COMPOSE_KEYS = ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(?::-([^}]*))?\}")  # not `$${...}`: compose's escape, for the container


def settings_env_names() -> dict[str, str]:
    """Each Settings field's environment variable: its validation alias, else the prefix and its upper-cased name."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[name] = str(alias.choices[0])
        elif isinstance(alias, str):
            names[name] = alias
        else:
            names[name] = f"{prefix}{name}".upper()
    return names


def env_example() -> tuple[dict[str, str], dict[str, str]]:
    """The settings .env.example sets, and those it shows commented out (unset by default), by name."""
    active: dict[str, str] = {}
    commented: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = ASSIGNMENT.match(line.strip())
        if match:
            target = commented if match.group(1) else active
            assert match.group(2) not in active and match.group(2) not in commented, f"{match.group(2)} twice"
            target[match.group(2)] = match.group(3)
    return active, commented


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${NAME}` and `${NAME:-default}`, with the values of .env.example."""
    return VARIABLE.sub(lambda m: env.get(m.group(1)) or m.group(2) or "", value)


def environment(name: str) -> dict[str, str]:
    """A service's `environment:` block as a mapping, whether written as a list or a mapping."""
    raw = service(name).get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: str(value) for key, value in raw.items()}


def command(name: str) -> list[str]:
    raw = service(name)["command"]
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def celery_app(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg in ("-A", "--app") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--app="):
            return arg.removeprefix("--app=")
    return None


def dependencies(name: str) -> dict[str, str]:
    """A service's depends_on as {service: condition}, whether written as a list or a mapping."""
    raw = service(name).get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {key: (value or {}).get("condition", "service_started") for key, value in raw.items()}


def healthcheck(name: str) -> list[str]:
    """A service's healthcheck as the argv the engine runs in its container: `CMD` as it is, `CMD-SHELL` (or a
    string) through /bin/sh, with compose's `$$` unescaped to the `$` the shell sees."""
    test = service(name)["healthcheck"]["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    kind, *argv = (str(part).replace("$$", "$") for part in test)
    assert kind in ("CMD", "CMD-SHELL"), f"{name}'s healthcheck is {kind}"
    return argv if kind == "CMD" else ["/bin/sh", "-c", " ".join(argv)]


def on_venv_path(argv: list[str]) -> list[str]:
    """A container's command run here: the image's `celery`, `evolver` and `python` are the venv's."""
    return [str(BIN / argv[0]) if (BIN / argv[0]).exists() else argv[0], *argv[1:]]


def env_file_is_optional(spec: dict[str, Any]) -> bool:
    """`env_file: [{path: .env, required: false}]`: compose reads .env when it exists and goes on without it."""
    files = spec.get("env_file")
    return isinstance(files, list) and {"path": ".env", "required": False} in files


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting leaks in from the machine running the tests: the environment outranks the env file."""
    for key in list(os.environ):
        if key.startswith("EVOLVER_") or key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
            monkeypatch.delenv(key)


# --- docker-compose.yml ---


def test_compose_has_every_service() -> None:
    services = compose()["services"]
    assert set(SERVICES) <= set(services), f"missing: {sorted(set(SERVICES) - set(services))}"


def test_redis_keeps_every_task() -> None:
    redis = service("redis")
    assert redis["image"].startswith("redis:7")
    argv = command("redis")
    assert argv[0] == "redis-server"
    assert argv[argv.index("--appendonly") + 1] == "yes"
    assert argv[argv.index("--maxmemory-policy") + 1] == "noeviction"
    assert "redis-cli ping" in " ".join(map(str, redis["healthcheck"]["test"]))
    assert any(str(volume).endswith(":/data") for volume in redis["volumes"])


def test_stateful_services_keep_their_data_in_named_volumes() -> None:
    declared = set(compose().get("volumes") or {})
    mounts = {"redis": "/data", "postgres": "/var/lib/postgresql/data", "ollama": "/root/.ollama"}
    for name, path in mounts.items():
        volumes = [str(v) for v in service(name)["volumes"]]
        sources = [v.split(":", 1)[0] for v in volumes if v.split(":")[1] == path]
        assert sources, f"{name} has no volume at {path}"
        assert sources[0] in declared, f"{name}'s {sources[0]} is not a named volume"


def test_postgres_takes_its_credentials_from_the_env_file() -> None:
    postgres = service("postgres")
    assert postgres["image"].startswith("postgres:15")
    env = postgres["environment"]
    for key in COMPOSE_KEYS:
        assert interpolate(str(env[key]), {}) == "evolver", f"{key} defaults to evolver"
        assert f"${{{key}" in str(env[key]), f"{key} comes from .env"
    assert "pg_isready" in " ".join(map(str, postgres["healthcheck"]["test"]))


def test_the_worker_scales() -> None:
    worker = service("worker")
    assert "container_name" not in worker
    assert "ports" not in worker


@pytest.mark.parametrize("name", PROJECT_SERVICES)
def test_project_services_run_the_one_image_and_reach_the_other_services(name: str) -> None:
    spec = service(name)
    assert spec["image"] == IMAGE
    assert env_file_is_optional(spec), "a fresh clone has no .env: compose must go on without it"
    active, _ = env_example()
    env = {key: interpolate(value, active) for key, value in environment(name).items()}
    broker = make_url(env["EVOLVER_BROKER_URL"])
    assert (broker.drivername, broker.host, broker.port) == ("redis", "redis", 6379)
    database = make_url(env["EVOLVER_DATABASE_URL"])
    assert database.drivername == "postgresql+psycopg"
    assert (database.host, database.port) == ("postgres", 5432)
    assert (database.username, database.password, database.database) == tuple(active[k] for k in COMPOSE_KEYS)
    assert env["EVOLVER_OLLAMA_HOST"] == "http://ollama:11434"


def test_one_service_builds_the_image_the_others_run() -> None:
    """Built once, by migrate (the first project service to start: the others wait for it), from the tree on every
    `up`; the others run that image and never look for it on a registry."""
    services = compose()["services"]
    builders = sorted(name for name, spec in services.items() if "build" in spec)
    assert builders == ["migrate"], f"services that build: {builders}"
    build = services["migrate"]["build"]
    if isinstance(build, dict):
        assert build.get("context", ".") in (".", "./")
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    else:
        assert build in (".", "./")
    assert services["migrate"]["pull_policy"] == "build"
    for name in PROJECT_SERVICES:
        if name != "migrate":
            assert services[name]["pull_policy"] == "never", name
            # so that `docker compose up NAME` alone builds the image first
            assert dependencies(name).get("migrate") == "service_completed_successfully", name


def test_the_stack_needs_no_env_file() -> None:
    """Every `${VAR}` the file reads from the environment (or .env) has a default, and no service needs .env."""
    text = COMPOSE.read_text()
    without_default = sorted({m.group(1) for m in VARIABLE.finditer(text) if m.group(2) is None})
    assert not without_default, f"no default for {without_default}: a fresh clone has no .env"
    for name, spec in compose()["services"].items():
        assert "env_file" not in spec or env_file_is_optional(spec), name


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name in LONG_RUNNING:
        check = service(name).get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        assert healthcheck(name), name
        assert "curl" not in " ".join(healthcheck(name)), f"{name}: curl is in none of the images"
        if "start_interval" in check:
            assert "start_period" in check, f"{name}: compose refuses start_interval without start_period"
    assert healthcheck("ollama") == ["ollama", "list"]
    for name, port, path in (("api", 8000, "/jobs"), ("flower", 5555, "/healthcheck")):
        argv = healthcheck(name)
        assert argv[:2] == ["python", "-c"] and f"http://127.0.0.1:{port}{path}" in argv[2], name
        compile(argv[2], name, "exec")
    assert "--enable-remote-control" in command("beat"), "beat answers its healthcheck's ping only with it"


def test_the_worker_waits_for_redis_ollama_and_the_migration() -> None:
    depends = dependencies("worker")
    assert depends.get("redis") == "service_healthy"
    assert depends.get("ollama") == "service_healthy"
    assert depends.get("migrate") == "service_completed_successfully"
    assert dependencies("migrate").get("postgres") == "service_healthy"
    assert dependencies("flower").get("redis") == "service_healthy"


def test_migrate_runs_the_evolvers_upgrade() -> None:
    assert command("migrate") == ["evolver", "db", "upgrade"]  # finds evolver/migrations/ in the installed package
    for name in ("worker", "beat", "api"):  # none of them migrates a PostgreSQL store: they wait for it
        assert dependencies(name).get("migrate") == "service_completed_successfully", name


@pytest.mark.parametrize("name", CELERY_SERVICES)
def test_celery_services_run_the_worker_app(name: str) -> None:
    argv = command(name)
    assert argv[0] == "celery"
    assert celery_app(argv) == "worker.app"
    assert name in argv, f"the {name} service runs `celery ... {name}`"


def test_worker_and_flower_commands() -> None:
    worker = command("worker")
    assert worker[worker.index("-P") + 1] == "prefork"
    assert {"--without-gossip", "--without-mingle"} <= set(worker)
    assert "--port=5555" in command("flower")
    assert any(str(port).startswith("5555:") for port in service("flower")["ports"])


def test_the_api_serves_the_page_on_every_interface_of_its_container() -> None:
    api = command("api")
    assert api[:2] == ["evolver", "serve"]
    assert api[api.index("--host") + 1] == "0.0.0.0" and api[api.index("--port") + 1] == "8000"
    assert any(str(port).startswith("8000:") for port in service("api")["ports"])
    assert env_file_is_optional(service("api"))  # EVOLVER_API_TOKEN comes from .env, never from this file
    assert "EVOLVER_API_TOKEN" not in service("api")["environment"]


# --- the healthchecks, run here against the real processes ---


def test_the_api_healthcheck_reads_the_store(tmp_path: Path) -> None:
    argv = healthcheck("api")
    with serving(create_app(make_settings(tmp_path / "lineage.db"))) as url:
        here = [*on_venv_path(argv[:2]), argv[2].replace("http://127.0.0.1:8000", url)]
        answered = subprocess.run(here, capture_output=True, text=True, timeout=60)
        assert answered.returncode == 0, answered.stderr
    gone = subprocess.run(here, capture_output=True, text=True, timeout=60)
    assert gone.returncode != 0, "healthy with no server"


@contextlib.contextmanager
def started(argv: list[str], env: dict[str, str], log: Path, ready: str) -> Iterator[subprocess.Popen[bytes]]:
    """A service's command run here in a session of its own, until `ready` is in its log; killed with every
    process it started."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            on_venv_path(argv), cwd=log.parent, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while ready not in log.read_text(errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        yield process
    finally:
        family = descendants(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.integration
@pytest.mark.parametrize(("name", "ready"), [("worker", "ready."), ("beat", "beat: Starting...")])
def test_the_celery_healthchecks_ping_the_process_through_the_broker(name: str, ready: str, tmp_path: Path) -> None:
    """The service's own command and its healthcheck, as in the container: the node named after the host answers
    `celery inspect ping` through Redis (beat too: --enable-remote-control)."""
    with redis_server.running() as broker:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOSTNAME": socket.gethostname(),  # the engine sets it in a container; celery names its node after it
            "EVOLVER_BROKER_URL": broker,
            "EVOLVER_DATABASE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
            "EVOLVER_SANDBOX_WORKERS": "1",
        }
        argv = command(name) + (["--concurrency=1"] if name == "worker" else [])
        with started(argv, env, tmp_path / f"{name}.log", ready):
            for _ in range(service(name)["healthcheck"]["retries"]):  # as the engine does while it starts
                pinged = subprocess.run(healthcheck(name), env=env, capture_output=True, text=True, timeout=60)
                if pinged.returncode == 0:
                    break
                time.sleep(1)
        assert pinged.returncode == 0, pinged.stdout + pinged.stderr
        assert "pong" in pinged.stdout


# --- docker compose: the file, and the stack brought up ---


def compose_cli() -> list[str]:
    """`docker compose`, or a skip that says why it cannot run here."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker with compose is not installed: there is no `docker` command on PATH")
    version = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
    if version.returncode != 0:
        said = (version.stderr or version.stdout).strip().splitlines() or [f"exit {version.returncode}"]
        pytest.skip(f"docker with compose is not installed: `docker compose version` says: {said[0]}")
    number = re.search(r"(\d+)\.(\d+)\.\d+", version.stdout)  # Docker Compose version v2.29.7
    if number is None or (int(number.group(1)), int(number.group(2))) < (2, 24):
        pytest.fail(f"{version.stdout.strip()}: docker-compose.yml needs compose 2.24 or later (an optional "
                    "env_file); upgrade the compose plugin")  # fmt: skip
    return [docker, "compose"]


@pytest.mark.parametrize("dot_env", [False, True], ids=["fresh-clone", "with-.env"])
def test_docker_compose_accepts_the_file(dot_env: bool, tmp_path: Path) -> None:
    compose_cmd = compose_cli()
    for path in (COMPOSE, DOCKERFILE):
        shutil.copy(path, tmp_path / path.name)
    if dot_env:
        shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    result = subprocess.run(
        [*compose_cmd, "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def containers(ps_output: str) -> list[dict[str, Any]]:
    """`docker compose ps --format json`: one object per line (compose 2.21+), or one array before."""
    text = ps_output.strip()
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.integration
@pytest.mark.timeout(3600)
def test_docker_compose_up_runs_the_stack_and_a_job_through_it() -> None:
    """What the README says to run, from the checkout as it is (.env or not): `docker compose up --wait` builds the
    image, migrates, and waits for every healthcheck; then the API answers on port 8000 and a job sent through
    the queue is run by a worker, in its sandbox, to the end. The project is a throwaway one, volumes included."""
    compose_cmd = compose_cli()
    engine = subprocess.run([compose_cmd[0], "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    if engine.returncode != 0:
        said = engine.stderr.strip().splitlines() or [f"exit {engine.returncode}"]
        pytest.skip(f"docker with compose is installed, but no Docker engine answers: {said[-1]}")
    for port in (8000, 5555):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(f"port {port} is taken here, and the stack publishes on it: stop what listens there")
    project = f"evolver-test-{os.getpid()}"
    base = [*compose_cmd, "--project-directory", str(ROOT), "-f", str(COMPOSE), "-p", project]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("POSTGRES_", "COMPOSE_"))}

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)

    def state() -> str:
        ps = run("ps", "--all")
        logs = run("logs", "--no-color", "--tail", "30")
        return f"{ps.stdout}\n{logs.stdout[-6000:]}"

    try:
        up = run("up", "--detach", "--wait", "--wait-timeout", "900", timeout=3000)
        assert up.returncode == 0, f"{up.stderr[-4000:]}\n{state()}"
        listed = containers(run("ps", "--all", "--format", "json").stdout)
        by_service = {item["Service"]: item for item in listed}
        assert set(by_service) == set(SERVICES), sorted(by_service)
        for name in LONG_RUNNING:
            item = by_service[name]
            assert (item["State"], item["Health"]) == ("running", "healthy"), f"{name}: {item}\n{state()}"
        assert (by_service["migrate"]["State"], by_service["migrate"]["ExitCode"]) == ("exited", 0)

        scenarios = get_json("http://127.0.0.1:8000/scenarios")
        assert "ai3_plugins" in {item["name"] for item in scenarios["items"]}
        assert get_json("http://127.0.0.1:8000/jobs")["total"] == 0
        with urllib.request.urlopen("http://127.0.0.1:8000/", timeout=30) as page:
            assert page.status == 200

        sent = run("exec", "-T", "api", "evolver", "evolve", "ai3_plugins", "--generations", "1", "--queue")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        job_id = int(re.search(r"(\d+) queued", sent.stdout).group(1))  # type: ignore[union-attr]
        deadline = time.monotonic() + 600
        while (job := get_json(f"http://127.0.0.1:8000/jobs/{job_id}"))["status"] in ("pending", "running"):
            assert time.monotonic() < deadline, f"job {job_id} still {job['status']}\n{state()}"
            time.sleep(2)
        assert job["status"] == "done", f"{job}\n{state()}"
    finally:
        run("down", "--volumes", "--remove-orphans", "--timeout", "30")


# --- .env.example ---


def test_env_example_lists_exactly_the_settings() -> None:
    active, commented = env_example()
    listed = set(active) | set(commented)
    expected = set(settings_env_names().values())
    assert expected <= listed, f"missing from .env.example: {sorted(expected - listed)}"
    assert listed - expected <= set(COMPOSE_KEYS), f"not settings: {sorted(listed - expected - set(COMPOSE_KEYS))}"
    assert set(COMPOSE_KEYS) <= set(active)
    assert active["OPENAI_API_KEY"] == "" and active["ANTHROPIC_API_KEY"] == ""


def test_env_example_comments_every_setting() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for i, line in enumerate(lines):
        match = ASSIGNMENT.match(line.strip())
        if match:
            before = lines[i - 1].strip() if i else ""
            assert before.startswith("#") and not ASSIGNMENT.match(before), f"{match.group(2)} has no comment"


def test_env_example_values_are_the_defaults(clean_environ: None) -> None:
    active, _ = env_example()
    settings = Settings(_env_file=ENV_EXAMPLE)
    names = settings_env_names()
    for name, env_name in names.items():
        value = getattr(settings, name)
        if name.endswith("api_key"):
            assert value is None or value.get_secret_value() == "", f"{env_name} is empty"
        elif env_name in active:
            assert value == Settings.model_fields[name].default, f"{env_name} is not the default"
        else:
            assert value is None or name == "prices_path", f"{env_name} is commented out but has a default"
            assert value == Settings.model_fields[name].default


def test_env_example_commented_values_parse_too(tmp_path: Path, clean_environ: None) -> None:
    active, commented = env_example()
    uncommented = tmp_path / "all.env"
    uncommented.write_text("".join(f"{key}={value}\n" for key, value in {**active, **commented}.items()))
    settings = Settings(_env_file=uncommented)
    names = settings_env_names()
    for name, env_name in names.items():
        if env_name in commented:
            assert getattr(settings, name) is not None, f"{env_name} parses to a value"


def test_env_example_values_parse_from_the_environment(monkeypatch: pytest.MonkeyPatch, clean_environ: None) -> None:
    active, _ = env_example()
    for key, value in active.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.provider_limits == {}
    assert settings.visibility_timeout > settings.task_time_limit + 30


def test_env_example_provider_limits_example_parses(monkeypatch: pytest.MonkeyPatch, clean_environ: None) -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("EVOLVER_PROVIDER_LIMITS="))
    comment = []
    while at > 0 and lines[at - 1].startswith("#"):
        at -= 1
        comment.insert(0, lines[at].lstrip("# "))
    text = " ".join(comment)
    assert "e.g. {" in text, "EVOLVER_PROVIDER_LIMITS has a JSON example in its comment"
    example, _ = json.JSONDecoder().raw_decode(text, text.index("e.g. {") + len("e.g. "))
    monkeypatch.setenv("EVOLVER_PROVIDER_LIMITS", json.dumps(example))
    limits = Settings().provider_limits
    assert limits["openai"].concurrency == 4 and limits["openai"].per_minute == 60


# --- Dockerfile and .dockerignore ---


def test_dockerfile_installs_the_source_tree_editable() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert "libseccomp2" in text
    assert re.search(r"pip install\b.*\s-e\s+\"?\.\[flower\]\"?", text), "installs the project editable"
    copied = set()
    for line in re.findall(r"^COPY\s+(.+)$", text, re.MULTILINE):
        copied.update(part.rstrip("/") for part in line.split()[:-1] if not part.startswith("--"))
    needed = {"pyproject.toml", "README.md", "alembic.ini", "simcore", "sandbox", "evolver", "worker"}
    assert needed <= copied or "." in copied, f"not copied: {sorted(needed - copied)}"
    missing = sorted(source for source in copied if not (ROOT / source).exists())
    assert not missing, f"COPY of what the project does not have (a build would fail): {missing}"
    cmd = re.search(r"^CMD\s+(.+)$", text, re.MULTILINE)
    assert cmd and "worker.app" in cmd.group(1) and '"worker"' in cmd.group(1), "the default command is the worker"
    assert not re.search(r"^USER\s", text, re.MULTILINE), "the sandbox needs root"


def test_no_secrets_in_the_image() -> None:
    instructions = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not re.search(r"API_KEY|PASSWORD|SECRET|TOKEN", "\n".join(instructions), re.IGNORECASE)
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    for pattern in (".venv", ".git", "*.db", ".env", "evolver.egg-info"):
        assert pattern in ignored, f".dockerignore keeps out {pattern}"


# --- what `make test` needs of the system: scripts/system-deps.sh ---

APT_GET = """#!/bin/bash
# A stand-in for apt-get: logs its arguments; `install` puts the packages where the script looks (if asked to).
echo "$DEBIAN_FRONTEND $*" >> "$FAKE/apt.log"
if [[ $1 == install && -e $FAKE/really-install ]]; then
    : > "$FAKE/bin/redis-server"
    : > "$FAKE/postgresql/15/bin/initdb"
    : > "$FAKE/chromium"
    /bin/chmod +x "$FAKE/bin/redis-server" "$FAKE/chromium"
fi
"""


@pytest.fixture
def fake_system() -> Iterator[Path]:
    """A folder standing for the system, readable by `nobody`: bin/ (the whole PATH the script gets: bash and a
    stand-in apt-get), and where the packages would be (none there yet)."""
    root = Path(tempfile.mkdtemp(prefix="evolver-system-deps-"))
    try:
        root.chmod(0o755)
        (root / "bin").mkdir(mode=0o755)
        (root / "bin" / "bash").symlink_to(shutil.which("bash") or "/bin/bash")
        (root / "bin" / "apt-get").write_text(APT_GET)
        (root / "bin" / "apt-get").chmod(0o755)
        (root / "postgresql" / "15" / "bin").mkdir(parents=True)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def system_env(fake: Path) -> dict[str, str]:
    """The script's environment: only the fake system (nothing of the real one, whose packages may be there)."""
    return {
        "PATH": str(fake / "bin"),
        "FAKE": str(fake),
        "SYSTEM_DEPS_INITDB": str(fake / "postgresql" / "*" / "bin" / "initdb"),
        "SYSTEM_DEPS_CHROMIUM": str(fake / "chromium"),
    }


def as_nobody(argv: list[str]) -> list[str]:
    """`argv` run as an ordinary user: as it is if the tests are not root, else through setpriv as nobody."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("the tests run as root and setpriv (util-linux) is not installed to run this as nobody")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]


def test_system_deps_is_silent_when_nothing_is_missing(fake_system: Path) -> None:
    for path in (fake_system / "bin" / "redis-server", fake_system / "postgresql" / "15" / "bin" / "initdb"):
        path.write_text("")
        path.chmod(0o755)
    (fake_system / "chromium").write_text("")
    (fake_system / "chromium").chmod(0o755)
    done = subprocess.run(["/bin/bash", str(SYSTEM_DEPS)], env=system_env(fake_system), capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not (fake_system / "apt.log").exists()


@pytest.mark.parametrize("apt", [True, False], ids=["debian", "no-apt-get"])
def test_system_deps_not_root_stops_with_the_one_command(apt: bool, fake_system: Path) -> None:
    if not apt:
        (fake_system / "bin" / "apt-get").unlink()
    done = subprocess.run(
        as_nobody(["/bin/bash", str(SYSTEM_DEPS)]), env=system_env(fake_system), capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("make test needs postgresql redis-server chromium")
    if apt:
        assert done.stderr.rstrip().endswith(
            "run  sudo apt-get update && sudo apt-get install -y --no-install-recommends "
            "postgresql redis-server chromium fonts-liberation"
        )
    assert not (fake_system / "apt.log").exists(), "not root: apt-get is never run"


def test_make_test_stops_before_the_venv_and_pytest_when_not_root(fake_system: Path) -> None:
    """The whole of `make test` on a machine without the packages, as an ordinary user: the one line, and neither
    pip nor pytest starts."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    (fake_system / "postgresql" / "15" / "bin" / "initdb").write_text("")  # PostgreSQL is there, the rest is not
    done = subprocess.run(
        as_nobody([make, "-C", str(ROOT), "test"]), env=system_env(fake_system), capture_output=True, text=True
    )
    assert done.returncode != 0
    needs = [line for line in done.stderr.splitlines() if line.startswith("make test needs")]
    assert needs == [
        "make test needs redis-server chromium: run  sudo apt-get update && sudo apt-get install -y "
        "--no-install-recommends redis-server chromium fonts-liberation"
    ], done.stderr
    assert "pip" not in done.stdout and "pytest" not in done.stdout, done.stdout


@pytest.mark.parametrize("installs", [True, False], ids=["installed", "still-missing"])
def test_system_deps_as_root_installs_what_is_missing(installs: bool, fake_system: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the tests do not run as root: the script's root branch installs with apt-get")
    if installs:
        (fake_system / "really-install").write_text("")
    done = subprocess.run(["/bin/bash", str(SYSTEM_DEPS)], env=system_env(fake_system), capture_output=True, text=True)
    assert (fake_system / "apt.log").read_text().splitlines() == [
        " update -qq",
        "noninteractive install -y -qq --no-install-recommends postgresql redis-server chromium fonts-liberation",
    ]
    if installs:
        assert done.returncode == 0, done.stderr
        assert done.stderr.startswith("make test needs postgresql redis-server chromium: installing")
    else:
        assert done.returncode == 1
        assert "still not where the tests look" in done.stderr.splitlines()[-1]


def test_make_test_checks_the_system_first_and_ci_leaves_it_to_make() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MAKE", "MFLAGS"))}
    planned = subprocess.run(["make", "-n", "-C", str(ROOT), "test"], env=env, capture_output=True, text=True)
    assert planned.returncode == 0, planned.stderr
    lines = planned.stdout.splitlines()
    check = next(i for i, line in enumerate(lines) if "scripts/system-deps.sh" in line)
    tests = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    installs = [i for i, line in enumerate(lines) if "pip install" in line]
    assert check < min(installs, default=tests) and check < tests, planned.stdout
    ci = CI_RUN.read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE), ".ci/run runs make test"
    assert "apt-get" not in ci, "the packages are installed in one place: scripts/system-deps.sh"
