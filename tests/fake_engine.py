"""A small fake SGLang engine (prefill or decode) for router end-to-end tests.

Stdlib only: a ``ThreadingHTTPServer`` bound to 127.0.0.1 on a free port, served from a daemon
thread. It answers the endpoints sglang-router 0.3.2 calls (health, server/model info, generate,
OpenAI chat completions, models) and records every request (method, path, headers, parsed JSON
body) so a test can assert on what the router forwarded. Paths it does not know are answered 404
and recorded in ``unknown`` (and logged), so a router version that calls something new shows up.

It deliberately reports a *local* model path (``/models/fake-pd-model``), never a hub id such as
``deepseek-ai/DeepSeek-R1``: given a hub id the router tries to download that model's tokenizer.

Run standalone for manual poking: ``python tests/fake_engine.py --role decode``.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("fake_engine")

LOCAL_MODEL_PATH = "/models/fake-pd-model"  # local-looking: the router must not try a hub download

GET_PATHS = {
    "/health",
    "/health_generate",
    "/server_info",
    "/get_server_info",
    "/model_info",
    "/get_model_info",
    "/v1/models",
    "/get_load",
    "/metrics",
}
POST_PATHS = {"/generate", "/v1/chat/completions", "/v1/completions", "/flush_cache"}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, raw text if not JSON, None if empty
    time: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    engine: "FakeEngine"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, fmt, *args):  # keep pytest output quiet; records are the log
        log.debug("%s %s", self.server.engine.name, fmt % args)

    # -- plumbing ---------------------------------------------------------------------------------
    def _read_body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _send(self, status: int, payload: Any = None, content_type: str = "application/json"):
        if isinstance(payload, (bytes, str)):
            data = payload.encode() if isinstance(payload, str) else payload
        elif payload is None:
            data = b""
        else:
            data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self, method: str):
        path = self.path.split("?", 1)[0]
        body = self._read_body() if method in ("POST", "PUT") else None
        eng = self.server.engine
        rec = Recorded(method, path, {k.lower(): v for k, v in self.headers.items()}, body)
        eng._record(rec)
        known = GET_PATHS if method in ("GET", "HEAD") else POST_PATHS
        if path not in known:
            eng._unknown(rec)
            self._send(404, {"error": f"fake engine: unknown path {method} {path}"})
            return
        status, payload, ctype = eng.respond(method, path, body)
        self._send(status, payload, ctype)

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")


class FakeEngine:
    """A fake SGLang HTTP engine. Use as a context manager or call start()/stop()."""

    def __init__(self, role: str, name: str | None = None, model_path: str | None = LOCAL_MODEL_PATH):
        if role not in ("prefill", "decode"):
            raise ValueError(role)
        self.role = role
        self.name = name or f"fake-{role}"
        self.model_path = model_path
        self.marker = f"FAKE-{role.upper()}-ANSWER"  # recognisable text in every answer
        # False: the engine is still loading (every path answers 503, like an SGLang server whose
        # model is not loaded yet). Tests flip it to simulate an engine that comes up late.
        self.healthy = True
        self.requests: list[Recorded] = []
        self.unknown: list[Recorded] = []
        self._lock = threading.Lock()
        self._srv: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> "FakeEngine":
        srv = _Server(("127.0.0.1", 0), _Handler)  # bind-to-0: the kernel picks a free port
        srv.engine = self
        self._srv = srv
        self._thread = threading.Thread(
            target=srv.serve_forever, kwargs={"poll_interval": 0.1}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._srv is not None:
            self._srv.shutdown()  # returns once serve_forever has exited (poll_interval 0.1 s)
            self._srv.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._srv = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self) -> int:
        assert self._srv is not None, "not started"
        return self._srv.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- records ----------------------------------------------------------------------------------
    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def _unknown(self, rec: Recorded) -> None:
        with self._lock:
            self.unknown.append(rec)
        log.warning("%s: unknown path %s %s body=%r", self.name, rec.method, rec.path, rec.body)

    def seen(self, path: str | None = None, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (method is None or r.method == method)
            ]

    def paths(self) -> list[str]:
        with self._lock:
            return [f"{r.method} {r.path}" for r in self.requests]

    # -- answers ----------------------------------------------------------------------------------
    def server_info(self) -> dict:
        info = {
            "disaggregation_mode": self.role,
            "tokenizer_path": self.model_path,
            "served_model_name": "fake-pd-model",
            "dp_size": 1,
            "tp_size": 1,
            "page_size": 64,
            "version": "0.0.0-fake",
        }
        if self.model_path is not None:
            info["model_path"] = self.model_path
        return info

    def model_info(self) -> dict:
        info = {"is_generation": True, "served_model_name": "fake-pd-model"}
        if self.model_path is not None:
            info["model_path"] = self.model_path
            info["tokenizer_path"] = self.model_path
        return info

    def respond(self, method: str, path: str, body: Any) -> tuple[int, Any, str]:
        j = "application/json"
        if not self.healthy:
            return 503, {"error": "fake engine: loading"}, j
        if path in ("/health", "/health_generate"):
            return 200, "", "text/plain"
        if path in ("/server_info", "/get_server_info"):
            return 200, self.server_info(), j
        if path in ("/model_info", "/get_model_info"):
            return 200, self.model_info(), j
        if path == "/v1/models":
            return 200, {
                "object": "list",
                "data": [{"id": "fake-pd-model", "object": "model", "owned_by": "sglang"}],
            }, j
        if path == "/get_load":
            return 200, [{"dp_rank": 0, "num_reqs": 0, "num_waiting_reqs": 0, "num_tokens": 0}], j
        if path == "/metrics":
            return 200, "", "text/plain"
        if path == "/flush_cache":
            return 200, "", "text/plain"
        body = body if isinstance(body, dict) else {}
        stream = bool(body.get("stream"))
        room = body.get("bootstrap_room")
        if path == "/generate":
            ans = {
                "text": f"{self.marker} room={room}",
                "meta_info": {
                    "id": "fake-gen-1",
                    "finish_reason": {"type": "stop"},
                    "prompt_tokens": 3,
                    "completion_tokens": 4,
                    "cached_tokens": 0,
                    "e2e_latency": 0.001,
                },
            }
            if stream:
                return 200, _sse([ans]), "text/event-stream"
            return 200, ans, j
        if path in ("/v1/chat/completions", "/v1/completions"):
            chat = path == "/v1/chat/completions"
            text = f"{self.marker} room={room}"
            usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
            if stream:
                chunk = {
                    "id": "fake-chat-1",
                    "object": "chat.completion.chunk" if chat else "text_completion",
                    "created": 0,
                    "model": "fake-pd-model",
                    "choices": [
                        {"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}
                        if chat
                        else {"index": 0, "text": text, "finish_reason": None}
                    ],
                }
                return 200, _sse([chunk]), "text/event-stream"
            choice = (
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                if chat
                else {"index": 0, "text": text, "finish_reason": "stop"}
            )
            return 200, {
                "id": "fake-chat-1",
                "object": "chat.completion" if chat else "text_completion",
                "created": 0,
                "model": "fake-pd-model",
                "choices": [choice],
                "usage": usage,
            }, j
        return 404, {"error": "unhandled"}, j


def _sse(events: list[dict]) -> str:
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def main() -> None:  # pragma: no cover - manual use
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["prefill", "decode"], required=True)
    a = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG)
    with FakeEngine(a.role) as e:
        print(e.url, flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
