"""A scripted HTTP server that speaks the model APIs' wire formats, so tests run the real SDKs against it.

`WireServer(*responses)` listens on a free loopback port and answers each request with the next scripted
`Response`; the last one repeats, so `WireServer(error(500))` fails forever. `routes` give a path its own
script (Ollama's GET /api/tags beside POST /api/chat); a GET is answered on a route only, elsewhere it gets
http.server's 501 and is not recorded. It records every other request (method, path, headers, JSON body) so
a test can count them and check what was sent. Connections close after each answer
(HTTP/1.0), and a stalled answer (`hang`) wakes on shutdown, so closing leaves no thread and no port behind.

The body builders below give each API's shapes: OpenAI chat completions, Anthropic messages, Ollama chat and
its model list.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Response:
    """One scripted answer: a status, headers and a JSON body (bytes are sent as they are), or a stall."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to stall before closing without an answer (set it past the client's timeout)
    delay: float = 0.0  # seconds to think before answering


@dataclass(frozen=True)
class Request:
    """What the server received: the method, the path, the headers (lower-case names), the raw body and its JSON."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any  # the parsed JSON, None when the body was not JSON


class WireServer:
    """A threaded HTTP server on 127.0.0.1 answering from a script; use it as a context manager.

    `responses` answer every path that `routes` (path -> its own script) does not name.
    """

    def __init__(self, *responses: Response, routes: Mapping[str, Sequence[Response]] | None = None) -> None:
        self._scripts = {path: list(script) for path, script in (routes or {}).items()}
        if not responses or not all(self._scripts.values()):
            raise ValueError("a WireServer needs at least one scripted response, and so does each route")
        self.requests: list[Request] = []
        self.in_flight = self.most_in_flight = 0  # requests being answered now, and the most at any moment
        self._script = list(responses)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        # a short poll so that closing takes milliseconds, not serve_forever's default half second
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), name="wire-server")

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> WireServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Wake stalled answers, stop serving, join every handler thread and free the port."""
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def _answer(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            script = self._scripts.get(request.path, self._script)
            return script.pop(0) if len(script) > 1 else script[0]


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close() joins every handler thread (the base class leaves them)


def _handler(wire: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: nothing stays open after an answer
        timeout = 5.0  # seconds a silent client may hold a handler thread (and so close()) before it gives up

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            headers = {name.lower(): value for name, value in self.headers.items()}
            response = wire._answer(Request(self.command, self.path, headers, raw, body))
            if response.hang:
                wire._stopping.wait(response.hang)
                return
            if response.delay:
                with wire._lock:
                    wire.in_flight += 1
                    wire.most_in_flight = max(wire.most_in_flight, wire.in_flight)
                wire._stopping.wait(response.delay)
                with wire._lock:
                    wire.in_flight -= 1
            payload = response.body if isinstance(response.body, bytes) else json.dumps(response.body).encode()
            self.send_response(response.status)
            for name, value in {"Content-Type": "application/json", **response.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path in wire._scripts:
                self.do_POST()  # a GET has no body: raw is b""
            else:
                self.send_error(501, f"Unsupported method ('GET') off the routes: {sorted(wire._scripts)}")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `wire.requests`, not a log."""

    return Handler


# --- faults ---------------------------------------------------------------------------------------------------


def hang(seconds: float) -> Response:
    """Stall, then close without answering: set `seconds` past the client's request timeout."""
    return Response(hang=seconds)


def dropped() -> Response:
    """Close the connection without answering, at once: the server went away mid-request."""
    return Response(hang=0.001)


def malformed() -> Response:
    """A 200 whose JSON body is cut off mid-way, as a broken proxy or a dropped stream leaves it."""
    return Response(200, b'{"id": "cut-off", "choices": [{"message": {"content": "def fn(')


def error(status: int, body: Any = None, retry_after: str | None = None) -> Response:
    """An error status with an optional body and Retry-After header (seconds or an HTTP date)."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Response(status, body if body is not None else {"error": f"status {status}"}, headers)


# --- OpenAI: POST /v1/chat/completions ------------------------------------------------------------------------


def openai_reply(text: str, tokens_in: int = 0, tokens_out: int = 0, finish: str = "stop") -> Response:
    return Response(
        200,
        {
            "id": "chatcmpl-wire",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-wire",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": tokens_in,
                "completion_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            },
        },
    )


def openai_error(status: int, message: str, kind: str = "invalid_request_error") -> Response:
    return error(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})


# --- Anthropic: POST /v1/messages -----------------------------------------------------------------------------


def anthropic_reply(text: str, tokens_in: int = 0, tokens_out: int = 0, finish: str = "end_turn") -> Response:
    return Response(
        200,
        {
            "id": "msg_wire",
            "type": "message",
            "role": "assistant",
            "model": "claude-wire",
            "content": [{"type": "text", "text": text}],
            "stop_reason": finish,
            "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        },
    )


def anthropic_error(status: int, message: str, kind: str = "invalid_request_error") -> Response:
    return error(status, {"type": "error", "error": {"type": kind, "message": message}})


# --- Ollama: POST /api/chat (stream false) --------------------------------------------------------------------


def ollama_reply(text: str, tokens_in: int = 0, tokens_out: int = 0, finish: str = "stop") -> Response:
    return Response(
        200,
        {
            "model": "llama-wire",
            "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": text},
            "done": True,
            "done_reason": finish,
            "total_duration": 1_000_000,
            "prompt_eval_count": tokens_in,
            "eval_count": tokens_out,
        },
    )


def ollama_error(status: int, message: str) -> Response:
    return error(status, {"error": message})


def ollama_tags(*names: str) -> Response:
    """GET /api/tags: the models the host has pulled, each named with its tag (`llama3:latest`)."""
    models = [
        {"name": name, "model": name, "modified_at": "2025-01-01T00:00:00Z", "size": 1, "digest": "0" * 64}
        for name in names
    ]
    return Response(200, {"models": models})
