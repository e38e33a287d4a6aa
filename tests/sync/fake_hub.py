"""A fake Hugging Face Hub on 127.0.0.1 for the sync tests and bench/sync.py.

Serves what `huggingface_hub.HfApi` asks for:
- `GET /api/models`: filter (repeated), pipeline_tag, search, author, sort (lastModified, downloads, likes,
  trendingScore, createdAt; descending, or `direction=1`), limit (also the page size, capped at `max_page`),
  expand (repeated; only those properties, plus id/_id), full; paginated with `Link: <...cursor=N...>; rel="next"`.
- `GET /api/models/{repo_id}` and `/api/models/{repo_id}/revision/{rev}`: one model (expand honoured);
  404 with `X-Error-Code: RepoNotFound` for an unknown id; a 307 redirect for a renamed one.

Faults (`FakeHub.fault`) are matched per request in order and consumed:
  "429" (Retry-After), "500"/"502"/"503", "slow" (answer after `delay` s), "hang" (until released or `delay`),
  "malformed" (invalid JSON), "truncated" (Content-Length promises more than is sent, then the connection closes),
  "cut_json" (a complete HTTP answer whose JSON body is cut in half), "drop" (close without an answer),
  "bad_item" (a listed item with downloads = "many").
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import socket
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

SORT_KEYS = {"lastModified", "downloads", "likes", "trendingScore", "createdAt", "id"}
DEFAULT_FIELDS = ("id", "_id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                  "library_name", "createdAt", "modelId")


def make_model(hf_id: str, *, downloads: int = 5000, likes: int = 20, pipeline_tag: str = "sentence-similarity",
               library: str = "sentence-transformers", license: str | None = "apache-2.0",
               parameters: int | None = 22_700_000, gated: bool | str = False, languages: tuple = ("en",),
               last_modified: str = "2025-01-01T00:00:00.000Z", trending: float = 1.0, extra_tags: tuple = (),
               sha: str | None = None) -> dict:
    """One model as the hub's API shows it."""
    tags = [library, pipeline_tag, *languages, *extra_tags]
    if license:
        tags.append(f"license:{license}")
    tags.append("region:us")
    return {
        "id": hf_id, "_id": _hex(hf_id)[:24], "modelId": hf_id, "author": hf_id.split("/")[0],
        "sha": sha or _hex(hf_id + last_modified)[:40], "lastModified": last_modified,
        "createdAt": "2024-01-01T00:00:00.000Z", "private": False, "gated": gated, "disabled": False,
        "downloads": downloads, "likes": likes, "trendingScore": trending, "library_name": library,
        "pipeline_tag": pipeline_tag, "tags": tags,
        "safetensors": {"parameters": {"F32": parameters}, "total": parameters} if parameters else None,
        "siblings": [{"rfilename": "config.json"}, {"rfilename": "model.safetensors"}],
    }


def _hex(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass
class Fault:
    action: str
    on: str = "any"  # "list" | "info" | "any"
    times: int = 1  # how many requests it hits; -1: every matching request
    skip: int = 0  # let this many matching requests through first
    match: Callable[[dict], bool] | None = None  # gets {"kind", "path", "query", "page", "repo_id"}
    retry_after: str | None = "1"
    delay: float = 2.0
    hits: int = 0
    seen: int = 0


@dataclass
class Logged:
    method: str
    path: str
    query: dict
    kind: str
    outcome: str
    at: float = field(default_factory=time.monotonic)
    authorization: str | None = None


class FakeHub:
    def __init__(self, page_size: int = 1000, max_page: int = 1000):
        self.models: dict[str, dict] = {}
        self.redirects: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.page_size = page_size
        self.max_page = max_page
        self.lock = threading.RLock()
        self.release = threading.Event()  # ends "hang" faults
        self.request_seen = threading.Condition(self.lock)
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> "FakeHub":
        hub = self

        class Handler(_Handler):
            fake = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self.server, "start() the fake hub first"
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # -- content -------------------------------------------------------------------------------------------------
    def add(self, *models: dict) -> None:
        with self.lock:
            for m in models:
                self.models[m["id"]] = m

    def update(self, hf_id: str, touch: bool = True, **changes: object) -> None:
        """Change a model; `touch` bumps lastModified and sha as a commit on the hub would."""
        with self.lock:
            m = self.models[hf_id]
            m.update(changes)
            if touch:
                m["lastModified"] = _bump(m["lastModified"], self.newest())
                m["sha"] = f"{random.getrandbits(160):040x}"

    def set_license(self, hf_id: str, license: str | None, touch: bool = True) -> None:
        with self.lock:
            tags = [t for t in self.models[hf_id]["tags"] if not t.startswith("license:")]
            if license:
                tags.append(f"license:{license}")
            self.update(hf_id, touch=touch, tags=tags)

    def remove(self, hf_id: str) -> None:
        with self.lock:
            del self.models[hf_id]

    def rename(self, old: str, new: str) -> None:
        with self.lock:
            m = self.models.pop(old)
            m["id"] = m["modelId"] = new
            self.models[new] = m
            self.redirects[old] = new

    def newest(self) -> str:
        return max((m["lastModified"] for m in self.models.values()), default="2025-01-01T00:00:00.000Z")

    # -- faults and log ------------------------------------------------------------------------------------------
    def fault(self, action: str, **kw: object) -> Fault:
        f = Fault(action, **kw)
        with self.lock:
            self.faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
        self.release.set()
        self.release = threading.Event()

    def requests(self, kind: str | None = None) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if kind is None or r.kind == kind]

    def wait_for(self, predicate: Callable[[list[Logged]], bool], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.request_seen:
            while not predicate(self.log):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.request_seen.wait(min(left, 0.2))
        return True

    def _take_fault(self, info: dict) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.times == 0 or f.on not in ("any", info["kind"]):
                    continue
                if f.match is not None and not f.match(info):
                    continue
                f.seen += 1
                if f.seen <= f.skip:
                    continue
                if f.times > 0:
                    f.times -= 1
                f.hits += 1
                return f
        return None

    # -- the API -------------------------------------------------------------------------------------------------
    def list_page(self, query: dict[str, list[str]]) -> tuple[list[dict], int | None, int]:
        """(items, next offset or None, offset) for one /api/models request."""
        one = lambda k: (query.get(k) or [None])[0]  # noqa: E731
        with self.lock:
            items = list(self.models.values())
        for f in query.get("filter", []):
            items = [m for m in items if f in m["tags"] or f == m.get("library_name") or f == m.get("pipeline_tag")]
        if one("pipeline_tag"):
            items = [m for m in items if m.get("pipeline_tag") == one("pipeline_tag")]
        if one("search"):
            s = one("search").lower()
            items = [m for m in items if s in m["id"].lower()]
        if one("author"):
            items = [m for m in items if m["id"].split("/")[0] == one("author")]
        sort = one("sort")
        if sort:
            if sort not in SORT_KEYS:
                raise _BadRequest(f"invalid sort {sort!r}")
            descending = one("direction") not in ("1",)
            items.sort(key=lambda m: (m.get(sort) is not None, m.get(sort) or 0, m["id"]), reverse=descending)
        limit = int(one("limit")) if one("limit") else None
        size = min(limit or self.page_size, self.max_page)
        offset = int(one("cursor") or 0)
        page = items[offset:offset + size]
        nxt = offset + size if offset + size < len(items) else None
        return [self.project(m, query) for m in page], nxt, offset

    def project(self, m: dict, query: dict[str, list[str]]) -> dict:
        expand = query.get("expand") or query.get("expand[]")
        if expand:
            keys = {"id", "_id", *expand}
        elif query.get("full") in (["True"], ["true"], ["1"]) or query.get("__info__"):
            return dict(m)
        else:
            keys = set(DEFAULT_FIELDS)
        out = {k: v for k, v in m.items() if k in keys}
        if "library_name" in keys and "library_name" not in out:
            out["library_name"] = None
        return out


class _BadRequest(Exception):
    pass


def _bump(stamp: str, newest: str) -> str:
    base = max(stamp, newest)
    when = dt.datetime.fromisoformat(base.replace("Z", "+00:00")) + dt.timedelta(seconds=1)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+(?:/[^/]+)?)(?:/revision/(?P<rev>[^/]+))?/?$")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()  # headers and body go in two writes: without NODELAY each answer waits for a delayed ACK
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802
        hub = self.fake
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        if parts.path.rstrip("/") == "/api/models":
            kind, repo = "list", None
        elif m := _INFO.match(parts.path):
            kind, repo = "info", m["repo"]
        else:
            kind, repo = "other", None
        page = int((query.get("cursor") or ["0"])[0]) // max(1, min(int((query.get("limit") or [hub.page_size])[0]),
                                                                    hub.max_page)) if kind == "list" else None
        info = {"kind": kind, "path": parts.path, "query": query, "page": page, "repo_id": repo}
        fault = hub._take_fault(info)
        outcome = fault.action if fault else "ok"
        with hub.request_seen:
            hub.log.append(Logged("GET", parts.path, query, kind, outcome,
                                  authorization=self.headers.get("authorization")))
            hub.request_seen.notify_all()
        try:
            self._answer(kind, repo, query, fault)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, kind: str, repo: str | None, query: dict, fault: Fault | None) -> None:
        hub = self.fake
        if fault is not None:
            a = fault.action
            if a in ("429", "500", "502", "503"):
                headers = {"Retry-After": fault.retry_after} if a in ("429", "503") and fault.retry_after else {}
                return self._send(int(a), {"error": f"fake fault {a}"}, headers)
            if a == "slow":
                time.sleep(fault.delay)
            elif a == "hang":
                hub.release.wait(fault.delay)
            elif a == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return None
        if kind == "list":
            try:
                items, nxt, _ = hub.list_page(query)
            except _BadRequest as exc:
                return self._send(400, {"error": str(exc)})
            headers = {}
            if nxt is not None:
                q = {k: v for k, v in query.items() if k != "cursor"}
                q["cursor"] = [str(nxt)]
                host = self.headers.get("host") or hub.url.split("//")[1]
                headers["Link"] = f'<http://{host}/api/models?{urlencode(q, doseq=True)}>; rel="next"'
            if fault is not None and fault.action == "loop":  # a Link header that points back at this very page
                host = self.headers.get("host") or hub.url.split("//")[1]
                headers["Link"] = f'<http://{host}{self.path}>; rel="next"'
            if fault is not None and fault.action == "bad_item" and items:
                items[0] = {**items[0], "downloads": "many"}
            return self._send(200, items, headers, fault)
        if kind == "info":
            with hub.lock:
                model = hub.models.get(repo)
                target = hub.redirects.get(repo)
            if model is None and target is not None:
                qs = urlsplit(self.path).query
                location = f"/api/models/{target}" + (f"?{qs}" if qs else "")
                return self._send(307, {"message": "Moved"}, {"Location": location})
            if model is None:
                return self._send(404, {"error": "Repository not found"},
                                  {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
            return self._send(200, hub.project(model, {**query, "__info__": ["1"]} if not query.get("expand")
                                               else query), {}, fault)
        return self._send(404, {"error": "not found"})

    def _send(self, status: int, body: object, headers: dict, fault: Fault | None = None) -> None:
        data = json.dumps(body).encode()
        action = fault.action if fault else None
        if action == "malformed":
            data = data[: max(1, len(data) // 2)] + b"<html>oops"
        elif action == "cut_json":
            data = data[: max(1, len(data) // 2)]
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in headers.items():
            self.send_header(k, v)
        if action == "truncated":
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
