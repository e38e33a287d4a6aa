"""An OpenAI-compatible `/v1/embeddings` server on 127.0.0.1 for tests, with faults injected from a script.

`FakeOpenAI(script=[...])`: each request takes the next fault from the script ("429", "429:2" = Retry-After 2,
"500", "503:0", "malformed", "400", "short" = one vector too few, "ok"); when the script is exhausted every request
succeeds. Vectors are deterministic: a hash of the text spread over `dim` floats.
"""
from __future__ import annotations

import hashlib
import json
import time
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


def vector_for(text: str, dim: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    v = np.random.RandomState(seed).randn(dim)
    return (v / np.linalg.norm(v)).round(6).tolist()


class FakeOpenAI:
    def __init__(self, script: list[str] | None = None, dim: int = 16, echo_auth_on_400: bool = False):
        self.script = list(script or [])
        self.dim = dim
        self.echo_auth_on_400 = echo_auth_on_400
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with fake.lock:
                    fault = fake.script.pop(0) if fake.script else "ok"
                    fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                          "body": json.loads(raw or b"{}"), "fault": fault})
                if self.path != "/v1/embeddings":
                    return self._send(404, {"error": {"message": "not found"}})
                name, _, arg = fault.partition(":")
                if name == "429":
                    return self._send(429, {"error": {"message": "rate limited"}},
                                      {"Retry-After": arg or "1"})
                if name in ("500", "502", "503"):
                    return self._send(int(name), {"error": {"message": "boom"}}, {"Retry-After": arg} if arg else None)
                if name == "400":
                    msg = f"bad request, your header was {self.headers.get('Authorization')}" if fake.echo_auth_on_400 else "bad model"
                    return self._send(400, {"error": {"message": msg}})
                if name == "malformed":
                    return self._send_raw(200, b'{"data": [ {"embedding": [0.1, ')
                if name == "trickle":  # headers at once, then one byte every 0.3 s for a minute
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "200")
                    self.end_headers()
                    for _ in range(200):
                        try:
                            self.wfile.write(b" ")
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(0.3)
                    return
                body = json.loads(raw)
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                if any(not isinstance(t, str) or t == "" for t in inputs):
                    return self._send(400, {"error": {"message": "input must be non-empty strings"}})
                data = [{"object": "embedding", "index": i, "embedding": vector_for(t, fake.dim)}
                        for i, t in enumerate(inputs)]
                if name == "short":
                    data = data[:-1]
                data.reverse()  # the index field, not the order, says which is which
                tokens = sum(max(1, len(t.split())) for t in inputs)
                return self._send(200, {"object": "list", "data": data, "model": body["model"],
                                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

            def _send(self, status, payload, headers=None):
                self._send_raw(status, json.dumps(payload).encode(), headers)

            def _send_raw(self, status, data, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
