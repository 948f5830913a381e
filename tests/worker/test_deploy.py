"""The deployment files: docker-compose.yml, the Dockerfile and .env.example, read as text and YAML.

There is no Docker engine where the tests run, so nothing is built or started; `docker compose config` checks the
file as well where the compose plugin is installed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from sqlalchemy.engine import make_url

from evolver.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"

SERVICES = ("redis", "postgres", "ollama", "migrate", "worker", "beat", "api", "flower")
PROJECT_SERVICES = ("migrate", "worker", "beat", "api", "flower")
CELERY_SERVICES = ("worker", "beat", "flower")
COMPOSE_KEYS = ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


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
def test_project_services_build_the_image_and_reach_the_other_services(name: str) -> None:
    spec = service(name)
    build = spec["build"]
    if isinstance(build, dict):
        assert build.get("context", ".") in (".", "./")
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    else:
        assert build in (".", "./")
    assert spec["env_file"] in (".env", [".env"]) or any(
        isinstance(item, dict) and item.get("path") == ".env" for item in spec["env_file"]
    )
    active, _ = env_example()
    env = {key: interpolate(value, active) for key, value in environment(name).items()}
    broker = make_url(env["EVOLVER_BROKER_URL"])
    assert (broker.drivername, broker.host, broker.port) == ("redis", "redis", 6379)
    database = make_url(env["EVOLVER_DATABASE_URL"])
    assert database.drivername == "postgresql+psycopg"
    assert (database.host, database.port) == ("postgres", 5432)
    assert (database.username, database.password, database.database) == tuple(active[k] for k in COMPOSE_KEYS)
    assert env["EVOLVER_OLLAMA_HOST"] == "http://ollama:11434"


def test_the_worker_waits_for_redis_and_the_migration() -> None:
    depends = dependencies("worker")
    assert depends.get("redis") == "service_healthy"
    assert depends.get("migrate") == "service_completed_successfully"
    assert dependencies("migrate").get("postgres") == "service_healthy"
    assert "redis" in dependencies("flower")


def test_migrate_runs_the_evolvers_upgrade() -> None:
    assert command("migrate") == ["evolver", "db", "upgrade"]  # finds migrations/ beside the installed package
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
    assert service("api")["env_file"] == ".env"  # EVOLVER_API_TOKEN comes from there, never from the file
    assert "EVOLVER_API_TOKEN" not in service("api")["environment"]


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed")
    for path in (COMPOSE, DOCKERFILE):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    result = subprocess.run(
        [docker, "compose", "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


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
    needed |= {"prompts", "migrations"}
    assert needed <= copied or "." in copied, f"not copied: {sorted(needed - copied)}"
    cmd = re.search(r"^CMD\s+(.+)$", text, re.MULTILINE)
    assert cmd and "worker.app" in cmd.group(1) and '"worker"' in cmd.group(1), "the default command is the worker"
    assert not re.search(r"^USER\s", text, re.MULTILINE), "the sandbox needs root"


def test_no_secrets_in_the_image() -> None:
    instructions = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not re.search(r"API_KEY|PASSWORD|SECRET|TOKEN", "\n".join(instructions), re.IGNORECASE)
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    for pattern in (".venv", ".git", "*.db", ".env", "evolver.egg-info"):
        assert pattern in ignored, f".dockerignore keeps out {pattern}"
