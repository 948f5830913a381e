"""Failures that make a model unusable, through the three real SDKs against our wire-level server or no server.

A wrong key (401, 403), an unknown model (404, Ollama's "not found, try pulling it first") and no server
(connection refused, no such host) are fatal: one request, no retry, a ProviderError with `fatal` set whose
one-line message names the model, the error and the fix. Ollama's `check` lists the host's models first.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest
import wire
from test_providers import APIS, CODE, FAST, KEY, REQUEST, TIMEOUT, Api, settings_for
from wire import Response, WireServer

from evolver.errors import ProviderError
from evolver.providers import get_provider
from evolver.providers.base import Provider
from evolver.providers.retry import RetryPolicy
from evolver.settings import Settings

OLLAMA = APIS[2]
NOT_FOUND = {  # each API's answer for a model it does not have
    "openai": wire.openai_error(404, "The model `gpt-4o-mini` does not exist or you do not have access to it."),
    "anthropic": wire.anthropic_error(404, "model: claude-haiku-4-5", "not_found_error"),
    "ollama": wire.ollama_error(404, 'model "llama3.2:1b" not found, try pulling it first'),
}


@pytest.fixture(params=APIS, ids=lambda api: api.model_id.partition(":")[0])
def api(request: pytest.FixtureRequest) -> Api:
    return request.param


def name(api: Api) -> str:
    return api.model_id.partition(":")[0]


def fixes(api: Api, url: str) -> dict[str, str]:
    """The fix each fatal failure of `api` names, with the settings `settings_for(url)` makes."""
    if name(api) == "ollama":
        host = f"EVOLVER_OLLAMA_HOST (now {url})"
        return {
            "key": f"check {host} and OLLAMA_API_KEY",
            "model": f"run `ollama pull llama3.2:1b` on {host}",
            "connect": f"start `ollama serve` or set {host}",
        }
    variable = f"EVOLVER_{name(api).upper()}_BASE_URL"
    base = f"{url}/v1" if name(api) == "openai" else url
    return {
        "key": f"check {name(api).upper()}_API_KEY and {variable} (now {base})",
        "model": f"check the model name and {variable} (now {base})",
        "connect": f"check {variable} (now {base}) or your network",
    }


def closed_port() -> str:
    """The URL of a port that was free a moment ago and has no listener now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def fatal(api: Api, url: str) -> tuple[str, float]:
    """The message of the fatal ProviderError `propose` must raise at `url`, and the seconds it took."""
    provider = get_provider(api.model_id, settings_for(url), FAST)  # retries would make many requests in 3 s
    started = time.monotonic()
    with pytest.raises(ProviderError) as failed:
        provider.propose(REQUEST)
    seconds = time.monotonic() - started
    assert failed.value.fatal
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(f"{api.model_id} failed after 1 request in ") and "(not retried): " in message
    return message, seconds


# --- no server ----------------------------------------------------------------------------------------------------


def test_a_refused_connection_is_fatal_at_once(api: Api) -> None:
    url = closed_port()
    message, seconds = fatal(api, url)
    assert seconds < 5.0
    assert "cannot connect: [Errno 111] Connection refused; fix: " in message
    assert message.endswith(f"; fix: {fixes(api, url)['connect']}")


def test_a_host_that_does_not_resolve_is_fatal_at_once(api: Api) -> None:
    url = "http://no-such-host.invalid:8000"  # .invalid never resolves (RFC 2606)
    message, _ = fatal(api, url)
    assert "cannot connect: [Errno " in message
    assert message.endswith(f"; fix: {fixes(api, url)['connect']}")


# --- a wrong key, an unknown model --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_a_wrong_key_is_fatal_and_names_the_variable(api: Api, status: int) -> None:
    said = "unauthorized" if name(api) == "ollama" else f"Incorrect API key provided: {KEY}"  # Ollama gets no key
    with WireServer(api.error(status, said), api.reply(CODE)) as server:
        message, _ = fatal(api, server.url)
    assert len(server.requests) == 1
    assert KEY not in message and f"(not retried): {status} " in message
    assert f"{said.replace(KEY, '***')}; fix: " in message
    assert message.endswith(f"; fix: {fixes(api, server.url)['key']}")


def test_an_unknown_model_is_fatal_and_says_what_to_check(api: Api) -> None:
    with WireServer(NOT_FOUND[name(api)], api.reply(CODE)) as server:
        message, _ = fatal(api, server.url)
    assert len(server.requests) == 1
    assert "(not retried): 404 " in message
    assert message.endswith(f"; fix: {fixes(api, server.url)['model']}")


def test_ollama_says_to_pull_a_model_it_does_not_have() -> None:
    with WireServer(NOT_FOUND["ollama"]) as server:
        message, _ = fatal(OLLAMA, server.url)
    assert message.endswith(
        '(not retried): 404 model "llama3.2:1b" not found, try pulling it first; '
        f"fix: run `ollama pull llama3.2:1b` on EVOLVER_OLLAMA_HOST (now {server.url})"
    )


def test_a_fatal_failure_after_retries_is_still_fatal(api: Api) -> None:
    """An overloaded server, then a 401: the retries stop there."""
    with (
        WireServer(api.overloaded, api.error(401, "invalid key"), api.reply(CODE)) as server,
        pytest.raises(ProviderError) as failed,
    ):
        get_provider(api.model_id, settings_for(server.url), FAST).propose(REQUEST)
    assert len(server.requests) == 2
    assert failed.value.fatal and "failed after 2 requests" in str(failed.value)


# --- pre-flight: check --------------------------------------------------------------------------------------------


def ollama(url: str, model: str = "llama3.2:1b") -> Provider:
    return get_provider(f"ollama:{model}", settings_for(url), FAST)


def tags(*names: str, delay: float = 0.0) -> dict[str, list[Response]]:
    return {"/api/tags": [replace(wire.ollama_tags(*names), delay=delay)]}


@pytest.mark.parametrize(
    ("model", "listed"),
    [("llama3", "llama3:latest"), ("llama3:latest", "llama3:latest"), ("llama3.2:1b", "llama3.2:1b")],
)
def test_check_passes_when_the_host_has_the_model(model: str, listed: str) -> None:
    slow = 2 * TIMEOUT  # past the request timeout: the check has its own
    with WireServer(wire.ollama_reply(CODE), routes=tags("qwen2.5-coder:7b", listed, delay=slow)) as server:
        ollama(server.url, model).check()
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/api/tags")]  # and no chat: nothing spent


@pytest.mark.parametrize(("model", "listed"), [("llama3.2:1b", ()), ("llama3", ("llama3:8b", "llama3.2:latest"))])
def test_check_names_ollama_pull_when_the_host_lacks_the_model(model: str, listed: tuple[str, ...]) -> None:
    with WireServer(wire.ollama_reply(CODE), routes=tags(*listed)) as server, pytest.raises(ProviderError) as failed:
        ollama(server.url, model).check()
    assert failed.value.fatal
    assert str(failed.value) == (
        f"ollama:{model} failed its check: not among the models the host has pulled; "
        f"fix: run `ollama pull {model}` on EVOLVER_OLLAMA_HOST (now {server.url})"
    )
    assert [r.path for r in server.requests] == ["/api/tags"]


def test_check_of_an_unreachable_host_is_fatal_at_once() -> None:
    url = closed_port()
    provider = ollama(url)
    started = time.monotonic()
    with pytest.raises(ProviderError) as failed:
        provider.check()
    assert time.monotonic() - started < 1.0
    assert failed.value.fatal
    assert str(failed.value) == (
        "ollama:llama3.2:1b failed its check: cannot connect: [Errno 111] Connection refused; "
        f"fix: start `ollama serve` or set EVOLVER_OLLAMA_HOST (now {url})"
    )


def test_check_of_a_host_that_refuses_us_is_fatal() -> None:
    refusal = {"/api/tags": [wire.ollama_error(401, "unauthorized")]}
    with (
        WireServer(wire.ollama_reply(CODE), routes=refusal) as server,
        pytest.raises(ProviderError, match="401 unauthorized; fix: check EVOLVER_OLLAMA_HOST") as failed,
    ):
        ollama(server.url).check()
    assert failed.value.fatal and len(server.requests) == 1


@pytest.mark.parametrize("fault", [wire.ollama_error(503, "server busy"), wire.dropped()], ids=["busy", "dropped"])
def test_check_leaves_a_fault_that_may_pass_to_the_calls_retries(fault: Response) -> None:
    with WireServer(wire.ollama_reply(CODE), routes={"/api/tags": [fault, wire.ollama_tags()]}) as server:
        ollama(server.url).check()
    assert len(server.requests) == 1  # not retried, and not held against the model


@pytest.mark.parametrize("model_id", ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "local:gp"])
def test_check_of_the_other_providers_sends_nothing(model_id: str) -> None:
    with WireServer(wire.error(500)) as server:
        get_provider(model_id, settings_for(server.url), FAST).check()
    assert server.requests == []


def test_a_call_is_retried_for_a_minute_by_default() -> None:
    assert Settings.model_fields["retry_deadline"].default == RetryPolicy().deadline == 60.0
