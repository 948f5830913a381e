"""The three real SDKs (openai, anthropic, ollama) against our wire-level server, the retry layer and pricing.

Each fault is scripted on the server; the tests count the HTTP requests it received and check what was sent.
Retries use millisecond backoffs and a 0.3 s request timeout so the whole module runs in a few seconds.
The failures that make a model unusable (a wrong key, an unknown model, no server) are in
test_provider_failures.py.
"""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import wire
from wire import Response, WireServer

from evolver.errors import EvolverError, ProviderError
from evolver.pricing import Price, cost, load_prices
from evolver.providers import PROVIDERS, get_provider, parse_model_id
from evolver.providers.base import ProposalContext, ProposalRequest, Reply
from evolver.providers.retry import RetryPolicy, retry_after
from evolver.settings import DEFAULT_PRICES, Settings

KEY = "sk-wire-SECRET-0123456789abcdef"
TIMEOUT = 0.3  # seconds: the request timeout, so a hang costs little
FAST = RetryPolicy(deadline=3.0, max_attempts=6, first_wait=0.01, max_wait=0.05)
CODE = "```python\ndef fn(i, v, r, s, p):\n    return None\n```"
CONTEXT = ProposalContext(
    scenario="ai3_plugins",
    goal="end with the most USDC",
    comp="max r['usdc']",
    direction="max",
    observables=("price", "wallet"),
    actions={"dex": ("buyA", "sellA")},
    wallet={"USDC": 50.0},
)
REQUEST = ProposalRequest(
    op="init",
    messages=(
        {"role": "system", "content": "You write player functions."},
        {"role": "user", "content": "Write fn for ai3_plugins."},
    ),
    context=CONTEXT,
    seed=7,
    max_tokens=321,
    temperature=0.5,
)


@dataclass(frozen=True)
class Api:
    """One SDK's side of the wire: its model id, path, reply and error bodies, and how it says "overloaded"."""

    model_id: str
    path: str
    reply: Callable[..., Response]
    error: Callable[[int, str], Response]
    overloaded: Response
    cutoff: str  # the finish reason of a reply cut at max_tokens
    price: Price  # what prices.toml charges for model_id


APIS = [
    Api(
        "openai:gpt-4o-mini",
        "/v1/chat/completions",
        wire.openai_reply,
        wire.openai_error,
        wire.openai_error(503, "The engine is currently overloaded", "server_error"),
        "length",
        Price(0.15, 0.60),
    ),
    Api(
        "anthropic:claude-haiku-4-5",
        "/v1/messages",
        wire.anthropic_reply,
        wire.anthropic_error,
        wire.anthropic_error(529, "Overloaded", "overloaded_error"),
        "max_tokens",
        Price(1.0, 5.0),
    ),
    Api(
        "ollama:llama3.2:1b",
        "/api/chat",
        wire.ollama_reply,
        lambda status, message: wire.ollama_error(status, message),
        wire.ollama_error(503, "server busy, please try again. maximum pending requests exceeded"),
        "length",
        Price(0.0, 0.0),
    ),
]


@pytest.fixture(params=APIS, ids=lambda api: api.model_id.partition(":")[0])
def api(request: pytest.FixtureRequest) -> Api:
    return request.param


def settings_for(url: str, **overrides: object) -> Settings:
    """Settings pointing every provider at `url`, with keys set and a short request timeout."""
    values: dict[str, object] = {
        "OPENAI_API_KEY": KEY,
        "ANTHROPIC_API_KEY": KEY,
        "openai_base_url": f"{url}/v1",
        "anthropic_base_url": url,
        "ollama_host": url,
        "request_timeout": TIMEOUT,
        "retry_deadline": 3.0,
    }
    return Settings(**{**values, **overrides})


def propose(api: Api, server: WireServer, retry: RetryPolicy = FAST) -> Reply:
    return get_provider(api.model_id, settings_for(server.url), retry).propose(REQUEST)


def provider_error(api: Api, server: WireServer, retry: RetryPolicy = FAST) -> ProviderError:
    """The ProviderError that `propose` must raise."""
    with pytest.raises(ProviderError) as failed:
        propose(api, server, retry)
    assert failed.value.__cause__ is None and failed.value.__suppress_context__  # no SDK error text rides along
    return failed.value


def failure(api: Api, server: WireServer, retry: RetryPolicy = FAST) -> str:
    """The message of the ProviderError that `propose` must raise."""
    return str(provider_error(api, server, retry))


def timed_propose(api: Api, server: WireServer, retry: RetryPolicy = FAST) -> tuple[Reply, float]:
    """The reply and the seconds `propose` took (making the SDK's client, ~0.1 s, is not timed)."""
    provider = get_provider(api.model_id, settings_for(server.url), retry)
    started = time.monotonic()
    reply = provider.propose(REQUEST)
    return reply, time.monotonic() - started


# --- good replies -----------------------------------------------------------------------------------------------


def test_a_good_reply_carries_its_text_tokens_and_cost(api: Api) -> None:
    with WireServer(api.reply(CODE, 1200, 345)) as server:
        reply = propose(api, server)
    assert (reply.text, reply.model, reply.tokens_in, reply.tokens_out) == (CODE, api.model_id, 1200, 345)
    assert reply.requests == 1
    assert reply.latency_ms > 0
    assert reply.raw["finish_reason"] in ("stop", "end_turn")
    assert [r.path for r in server.requests] == [api.path]
    expected = (1200 * api.price.input + 345 * api.price.output) / 1_000_000
    assert cost(reply.model, reply.tokens_in, reply.tokens_out, load_prices(DEFAULT_PRICES)) == pytest.approx(expected)


def test_the_key_is_sent_only_in_the_auth_header_and_never_kept(api: Api) -> None:
    with WireServer(api.reply(CODE, 1, 1)) as server:
        reply = propose(api, server)
    sent = server.requests[0]
    assert KEY not in sent.raw.decode() and KEY not in sent.path
    holding = [name for name, value in sent.headers.items() if KEY in value]
    if api.model_id.startswith("ollama"):
        assert holding == []
    else:
        assert len(holding) == 1 and holding[0] in ("authorization", "x-api-key")
    assert KEY not in repr(reply)


def test_openai_gets_the_messages_as_given_with_the_token_limit_and_seed() -> None:
    with WireServer(wire.openai_reply(CODE)) as server:
        propose(APIS[0], server)
    body = server.requests[0].body
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == list(REQUEST.messages)
    # a configured base URL means an OpenAI-compatible server: it gets the long-standing `max_tokens`
    assert (body["max_tokens"], body["seed"], body["temperature"]) == (321, 7, 0.5)


def test_anthropic_gets_the_system_prompt_in_system_and_the_rest_as_messages() -> None:
    with WireServer(wire.anthropic_reply(CODE)) as server:
        propose(APIS[1], server)
    body = server.requests[0].body
    assert body["model"] == "claude-haiku-4-5"
    assert body["system"] == "You write player functions."
    assert body["messages"] == [{"role": "user", "content": "Write fn for ai3_plugins."}]
    assert body["max_tokens"] == 321


def test_ollama_gets_the_whole_model_name_and_its_options() -> None:
    with WireServer(wire.ollama_reply(CODE)) as server:
        propose(APIS[2], server)
    body = server.requests[0].body
    assert (body["model"], body["stream"]) == ("llama3.2:1b", False)
    assert body["messages"] == list(REQUEST.messages)
    assert body["options"] == {"temperature": 0.5, "seed": 7, "num_predict": 321}


def test_a_reply_cut_at_max_tokens_is_a_result_not_an_error(api: Api) -> None:
    with WireServer(api.reply("def fn(i, v, r, s, p):\n    if v['price'] <", 10, 321, finish=api.cutoff)) as server:
        reply = propose(api, server)
    assert reply.raw["finish_reason"] == api.cutoff
    assert (reply.tokens_out, reply.requests) == (321, 1)


def test_an_openai_refusal_is_a_result_with_its_text() -> None:
    refusal = wire.openai_reply("", 5, 3, finish="stop")
    refusal.body["choices"][0]["message"].update(content=None, refusal="I can't help with that.")
    with WireServer(refusal) as server:
        reply = propose(APIS[0], server)
    assert (reply.text, reply.raw["refusal"]) == ("I can't help with that.", "I can't help with that.")


# --- faults that pass on retry ----------------------------------------------------------------------------------


def test_a_429_waits_what_retry_after_asks_then_succeeds(api: Api) -> None:
    with WireServer(wire.error(429, {"error": "slow down"}, retry_after="0.2"), api.reply(CODE, 3, 4)) as server:
        reply, seconds = timed_propose(api, server)
    assert (len(server.requests), reply.requests, reply.text) == (2, 2, CODE)
    assert 0.2 <= seconds < 1.0  # the backoff alone would be ~0.02 s
    assert reply.latency_ms >= 200


@pytest.mark.parametrize("status", [500, 502])
def test_a_server_error_is_retried(api: Api, status: int) -> None:
    with WireServer(api.error(status, "internal error"), api.reply(CODE, 3, 4)) as server:
        reply = propose(api, server)
    assert (len(server.requests), reply.requests, reply.tokens_in) == (2, 2, 3)


def test_overload_is_retried(api: Api) -> None:
    with WireServer(api.overloaded, api.overloaded, api.reply(CODE, 3, 4)) as server:
        reply = propose(api, server)
    assert (len(server.requests), reply.requests, reply.text) == (3, 3, CODE)


def test_a_hang_past_the_timeout_is_retried(api: Api) -> None:
    with WireServer(wire.hang(20 * TIMEOUT), api.reply(CODE, 3, 4)) as server:
        reply, seconds = timed_propose(api, server)
    assert (len(server.requests), reply.requests, reply.text) == (2, 2, CODE)
    assert TIMEOUT <= seconds < 2.0  # gave up on the stalled request at the timeout, not when it ended


def test_a_dropped_connection_is_retried(api: Api) -> None:
    """The server closed the connection without answering: it was up a moment ago, so this may pass."""
    with WireServer(wire.dropped(), api.reply(CODE, 3, 4)) as server:
        reply = propose(api, server)
    assert (len(server.requests), reply.requests, reply.text) == (2, 2, CODE)


def test_malformed_json_is_retried_like_a_dropped_connection(api: Api) -> None:
    """Decision: a cut-off or garbled body is a transport fault, retried; it fails only when it persists."""
    with WireServer(wire.malformed(), api.reply(CODE, 3, 4)) as server:
        reply = propose(api, server)
    assert (len(server.requests), reply.requests, reply.text) == (2, 2, CODE)


def test_malformed_json_that_persists_ends_in_a_provider_error(api: Api) -> None:
    with WireServer(wire.malformed()) as server:
        message = failure(api, server, RetryPolicy(deadline=3.0, max_attempts=3, first_wait=0.01))
    assert len(server.requests) == 3
    assert "after 3 requests" in message and "unreadable reply" in message


# --- faults that end the call -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 409, 413, 422])
def test_other_4xx_are_not_retried_and_not_fatal(api: Api, status: int) -> None:
    """This request failed; the model is fine (401, 403 and 404 are fatal: test_provider_failures.py)."""
    with WireServer(api.error(status, "max_tokens is too large"), api.reply(CODE)) as server:
        failed = provider_error(api, server)
    assert len(server.requests) == 1
    assert not failed.fatal
    message = str(failed)
    assert message.startswith(f"{api.model_id} failed after 1 request ")
    assert f"(not retried): {status} " in message and message.endswith("max_tokens is too large")  # and no fix


def test_retries_stop_at_the_deadline_and_say_how_many_were_made(api: Api) -> None:
    policy = RetryPolicy(deadline=0.5, max_attempts=1000, first_wait=0.02, max_wait=0.05)
    with WireServer(api.error(500, "still broken")) as server:
        provider = get_provider(api.model_id, settings_for(server.url), policy)
        started = time.monotonic()
        with pytest.raises(ProviderError) as failed:
            provider.propose(REQUEST)
        seconds = time.monotonic() - started
    made = len(server.requests)
    assert made >= 5
    assert 0.4 <= seconds < 1.0  # no attempt starts once its wait would pass the 0.5 s deadline
    message = str(failed.value)
    assert f"failed after {made} requests" in message
    assert "retry deadline 0.5 s" in message and "500 " in message and "still broken" in message


def test_retries_stop_at_the_attempt_limit(api: Api) -> None:
    policy = RetryPolicy(deadline=10.0, max_attempts=3, first_wait=0.01)
    with WireServer(api.overloaded) as server:
        message = failure(api, server, policy)
    assert len(server.requests) == 3
    assert "failed after 3 requests" in message and "most attempts allowed: 3" in message


def test_a_retry_after_past_the_deadline_fails_at_once() -> None:
    with WireServer(wire.error(429, {"error": "quota"}, retry_after="30")) as server:
        message = failure(APIS[0], server, RetryPolicy(deadline=2.0, first_wait=0.01))
    assert len(server.requests) == 1
    assert "after 1 request " in message and "asked to wait 30 s more" in message


@pytest.mark.parametrize("api", APIS[:2], ids=["openai", "anthropic"])  # Ollama is sent no key to echo
def test_a_key_echoed_by_the_server_is_blanked_in_the_error(api: Api) -> None:
    with WireServer(api.error(401, f"Incorrect API key provided: {KEY}")) as server:
        message = failure(api, server)
    assert KEY not in message and "Incorrect API key provided: ***" in message


# --- Retry-After ------------------------------------------------------------------------------------------------


def test_retry_after_reads_seconds_milliseconds_and_http_dates() -> None:
    assert retry_after({"retry-after": "0.2"}) == 0.2
    assert retry_after({"retry-after-ms": "150", "retry-after": "9"}) == 0.15
    soon = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3.5 <= retry_after({"retry-after": soon}) <= 5.0
    assert retry_after({"retry-after": email.utils.formatdate(time.time() - 60, usegmt=True)}) == 0.0
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


def test_a_retry_after_date_is_waited_out() -> None:
    when = email.utils.formatdate(time.time() + 1.5, usegmt=True)  # whole seconds: 0.5 to 1.5 s from now
    with WireServer(wire.error(429, {"error": "later"}, retry_after=when), wire.openai_reply(CODE)) as server:
        reply, seconds = timed_propose(APIS[0], server)
    assert reply.requests == 2
    assert 0.45 <= seconds < 2.0  # the backoff alone would be ~0.02 s


# --- the registry -----------------------------------------------------------------------------------------------


def test_model_ids_split_at_the_first_colon() -> None:
    assert parse_model_id("ollama:llama3.2:1b") == ("ollama", "llama3.2:1b")
    assert parse_model_id("openai:gpt-4o") == ("openai", "gpt-4o")


@pytest.mark.parametrize("model_id", ["gp", "openai:", ":gpt-4o", "", "mistral:large", "OpenAI:gpt-4o"])
def test_a_malformed_or_unknown_model_id_names_the_providers(model_id: str) -> None:
    with pytest.raises(ProviderError) as failed:
        get_provider(model_id, Settings())
    assert ", ".join(PROVIDERS) in str(failed.value)


@pytest.mark.parametrize(
    ("model_id", "variable"), [("openai:gpt-4o", "OPENAI_API_KEY"), ("anthropic:claude-x", "ANTHROPIC_API_KEY")]
)
def test_a_missing_key_says_which_variable_to_set(model_id: str, variable: str) -> None:
    with pytest.raises(ProviderError, match=f"set {variable}") as failed:
        get_provider(model_id, Settings(OPENAI_API_KEY=None, ANTHROPIC_API_KEY=None))
    assert failed.value.fatal


def test_local_models_need_no_key_and_no_network() -> None:
    provider = get_provider("local:gp", Settings(OPENAI_API_KEY=None, ANTHROPIC_API_KEY=None))
    assert provider.model_id == "local:gp"


# --- pricing ----------------------------------------------------------------------------------------------------


def test_the_shipped_table_prices_by_exact_id_then_longest_pattern() -> None:
    prices = load_prices(DEFAULT_PRICES)
    assert prices.price("openai:gpt-4o") == Price(2.5, 10.0)
    assert prices.price("openai:gpt-4o-mini-2024-07-18") == Price(0.15, 0.6)  # not gpt-4o*
    assert prices.price("anthropic:claude-opus-4-5-20251101") == Price(5.0, 25.0)  # not claude-opus-4*
    assert prices.price("openai:some-new-model") == prices.price("openai:*")
    assert cost("anthropic:claude-sonnet-4-5", 2_000_000, 100_000, prices) == pytest.approx(2 * 3.0 + 0.1 * 15.0)
    assert cost("ollama:qwen2.5-coder:7b", 10**6, 10**6, prices) == cost("local:gp", 10**6, 10**6, prices) == 0.0


def test_a_model_without_a_price_is_an_error_not_free(tmp_path: Path) -> None:
    table = tmp_path / "prices.toml"
    table.write_text('"openai:gpt-4o" = { input = 2.5, output = 10 }\n')
    prices = load_prices(table)
    assert cost("openai:gpt-4o", 1000, 1000, prices) == pytest.approx(0.0125)
    with pytest.raises(EvolverError, match=r'no price for anthropic:x in .*prices.toml.*"anthropic:\*" default'):
        cost("anthropic:x", 1, 1, prices)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('"openai:*" = { input = 2.5, output = ', "not valid TOML"),
        ('"openai:*" = { input = 2.5 }', "needs exactly input and output"),
        ('"openai:*" = 2.5', "needs exactly input and output"),
        ('"openai:*" = { input = -1, output = 1 }', "input must be a number of USD >= 0"),
        ('"openai:*" = { input = 1, output = "ten" }', "output must be a number of USD >= 0"),
        ('"openai:*" = { input = 1, output = nan }', "output must be a number of USD >= 0"),
        ('"gpt-4o" = { input = 1, output = 1 }', "is not a model id or pattern"),
    ],
)
def test_a_malformed_price_table_is_named_with_its_fix(tmp_path: Path, text: str, complaint: str) -> None:
    table = tmp_path / "prices.toml"
    table.write_text(text + "\n")
    with pytest.raises(EvolverError, match=complaint) as failed:
        load_prices(table)
    assert str(table) in str(failed.value)


def test_a_missing_price_table_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(EvolverError, match="EVOLVER_PRICES_PATH"):
        load_prices(tmp_path / "nowhere.toml")


# --- the wire server itself -------------------------------------------------------------------------------------


def test_the_wire_server_leaves_no_thread_and_no_port_behind() -> None:
    before = set(threading.enumerate())
    server = WireServer(wire.hang(30))
    with server, socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        while not server.requests:  # the handler thread is now stalled in its hang
            time.sleep(0.01)
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < 1.0  # the hang woke on shutdown
    assert set(threading.enumerate()) == before
    with pytest.raises(ConnectionRefusedError):  # nothing listens on the port any more
        socket.create_connection(("127.0.0.1", server.port))
