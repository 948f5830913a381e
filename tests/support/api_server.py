"""The API app served by a real uvicorn on a free local port, in a thread of the test process; the settings, the
token and the scripted model replies the API's tests share."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from evolver.settings import Settings

TOKEN = "test-token-5b0c"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# What the model behind the wire server answers, in turn: a syntax error, its repair, prose, hostile code
# (a failed candidate with its reason), then a better player.
REPLIES = (
    "```python\ndef fn(i, v, r, s, p):\n    if v['price'] < 1\n        p['dex'].buyA(1)\n```",
    "```python\ndef fn(i, v, r, s, p):\n    if i == 1:\n        p['dex'].buyA(1)\n```",
    "I would buy low and sell high, but I cannot write code today.",
    "```python\ndef fn(i, v, r, s, p):\n    import os\n    return os.getpid()\n```",
    "```python\ndef fn(i, v, r, s, p):\n    if v['price'] < 0.9:\n        p['dex'].buyA(5)\n"
    "    elif v['price'] > 1.0:\n        p['dex'].sellA(5)\n```",
)


def make_settings(database: Path | str, **fields: object) -> Settings:
    """Settings for a test server on this SQLite file: by default no broker, the test token, one sandbox worker."""
    defaults: dict[str, object] = {"broker_url": None, "api_token": TOKEN, "sandbox_workers": 1}
    return Settings(database_url=f"sqlite:///{database}", **{**defaults, **fields})  # type: ignore[arg-type]


@contextmanager
def serving(app: FastAPI, timeout: float = 20.0) -> Iterator[str]:
    """Serve `app` until the block ends (its lifespan's shutdown included); yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
        assert not thread.is_alive(), "the API server did not stop"
