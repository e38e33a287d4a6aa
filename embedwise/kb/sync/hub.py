"""The sync's view of the Hugging Face Hub: `huggingface_hub.HfApi` behind one resilient HTTP transport.

huggingface_hub 2.x talks to the hub through one shared `httpx2.Client` (`get_session()`). Its own resilience does not
fit a nightly job:
- `list_models` pages through `http_backoff` with fixed settings (5 retries, 1-8 s waits, Retry-After + 1 s) and passes
  `timeout=None`, which switches every timeout off; `model_info` has no retry at all and no timeout either.
- a truncated body or malformed JSON surfaces as an exception from deep inside the pagination generator.

So while a sync runs, the shared client is built with `ResilientTransport`, which for every request:
- enforces the configured timeout (connect, read, and a deadline for the whole body), whatever the caller asked for;
- reads the whole body and, for JSON answers from `/api/`, checks that it parses;
- retries 429 (honouring Retry-After, or the hub's RateLimit header), 408 and 5xx, timeouts, network errors, truncated
  and malformed bodies, with exponential backoff;
- when the retries are spent raises `HubUnavailable` (network, rate limit, server) or `HubBadAnswer` (malformed or
  truncated). Neither is an exception huggingface_hub retries, so its own backoff never runs on top of ours.

The transport also refuses every request to another origin than the sync's endpoint: huggingface_hub 2.4 fetches
`{HF_ENDPOINT or huggingface.co}/api/agent-harnesses` (agent-detection telemetry) through the same session when it
first builds headers, which would leak past a mirror endpoint (and reach for the network in tests).

Tokens: the `Authorization` header is never logged; URLs are logged without credentials.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import json
import logging
import re
import threading
import time
from typing import Any, Iterator

import httpx2
from pydantic import BaseModel, ConfigDict, Field, field_validator

log = logging.getLogger("embedwise.sync")

# Everything the sync reads about a model, asked for explicitly (listing and model_info alike).
EXPAND = ["sha", "lastModified", "createdAt", "tags", "gated", "downloads", "likes", "library_name",
          "pipeline_tag", "safetensors", "trendingScore"]

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_RATELIMIT = re.compile(r"\"?(?P<kind>\w+)\"?\s*;\s*r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+)")


class HubError(Exception):
    """A hub request failed after the retries the configuration allows."""


class HubUnavailable(HubError):
    """The hub could not be reached, kept failing (5xx), kept rate-limiting, or kept timing out."""


class HubBadAnswer(HubError):
    """The hub answered with a body that is truncated or not valid JSON, every time it was asked."""


class OffEndpoint(HubBadAnswer):
    """A request (or a redirect) to another origin than the sync's endpoint; refused, never sent."""


def _sleep(seconds: float) -> None:  # tests replace this to record waits without waiting
    time.sleep(seconds)


def redact_url(url: str) -> str:
    """The URL without user:password@ (an endpoint may carry credentials)."""
    return re.sub(r"//[^/@]*@", "//", str(url))


class ResilientTransport(httpx2.BaseTransport):
    def __init__(self, *, timeout: float, max_retries: int, backoff_base: float, backoff_max: float,
                 retry_after_max: float, endpoint: str | None = None, inner: httpx2.BaseTransport | None = None):
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.inner = inner or httpx2.HTTPTransport()
        self.origin = _origin(httpx2.URL(endpoint)) if endpoint else None
        self.refused: list[str] = []
        self.retries = 0  # how many requests were repeated (for the summary)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        # Callers (huggingface_hub) pass timeout=None, which means "no timeout": impose ours.
        request.extensions = {**request.extensions, "timeout": httpx2.Timeout(self.timeout).as_dict()}
        url = redact_url(str(request.url.copy_with(query=None))) + ("?..." if request.url.query else "")
        if self.origin is not None and _origin(request.url) != self.origin:
            self.refused.append(url)
            log.info("refused a request outside the sync endpoint: %s", url)
            raise OffEndpoint(f"{request.method} {url}: not the sync endpoint, not sent")
        attempt = 0
        while True:
            attempt += 1
            wait: float | None = None
            problem: str
            bad_answer = False
            answered = False  # the status line came back: a failure after it is a cut-short body
            try:
                response = self.inner.handle_request(request)
                answered = True
                status = response.status_code
                if status in RETRY_STATUSES or 500 <= status < 600:
                    wait = _retry_after(response.headers) if status in (429, 503) else None
                    response.close()
                    problem = f"HTTP {status}"
                    if wait is not None and wait > self.retry_after_max:
                        raise HubUnavailable(f"{url}: HTTP {status}, the hub asks to wait {wait:.0f} s "
                                             f"(more than retry_after_max={self.retry_after_max:.0f} s)")
                else:
                    out = self._read(response, request)
                    if status == 200 and _expects_json(request, out):
                        try:
                            json.loads(out.content)
                        except ValueError as exc:
                            bad_answer = True
                            raise _Malformed(f"malformed JSON ({exc.msg} at byte {exc.pos} of {len(out.content)})")
                    return out
            except HubError:
                raise
            except _Malformed as exc:
                problem = str(exc)
            except httpx2.TimeoutException as exc:
                problem = f"timeout after {self.timeout:g} s ({type(exc).__name__})"
            except httpx2.RemoteProtocolError as exc:
                problem = f"answer cut short ({exc})" if answered else f"connection dropped ({exc})"
                bad_answer = answered
            except (httpx2.NetworkError, httpx2.ProtocolError, httpx2.DecodingError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt > self.max_retries:
                cls = HubBadAnswer if bad_answer else HubUnavailable
                raise cls(f"{request.method} {url}: {problem} (gave up after {attempt} attempts)")
            if wait is None:
                wait = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
            with self._lock:
                self.retries += 1
            log.warning("%s %s: %s; retry %d/%d in %.2f s", request.method, url, problem, attempt,
                        self.max_retries, wait)
            _sleep(wait)

    def _read(self, response: httpx2.Response, request: httpx2.Request) -> httpx2.Response:
        """Read the raw body within the deadline; return a response the client can decode as usual."""
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        try:
            for chunk in response.stream:
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx2.ReadTimeout(f"body not complete within {self.timeout:g} s", request=request)
        finally:
            response.close()
        out = httpx2.Response(response.status_code, headers=response.headers,
                              stream=httpx2.ByteStream(b"".join(chunks)), extensions=response.extensions,
                              request=request)
        out.read()  # decodes (gzip, ...) now, so a broken encoding is retried here
        return out

    def close(self) -> None:
        self.inner.close()


class _Malformed(Exception):
    pass


def _origin(url: httpx2.URL) -> tuple[str, str, int | None]:
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host.lower(), port


def _expects_json(request: httpx2.Request, response: httpx2.Response) -> bool:
    return "/api/" in request.url.path and "json" in response.headers.get("content-type", "json")


def _retry_after(headers: httpx2.Headers) -> float | None:
    """Seconds to wait, from Retry-After (seconds or an HTTP date) or the hub's RateLimit header (r=0;t=N)."""
    value = headers.get("retry-after")
    if value is not None:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())
            except (TypeError, ValueError):
                pass
    ratelimit = headers.get("ratelimit")
    if ratelimit and (m := _RATELIMIT.search(ratelimit)) and int(m["r"]) == 0:
        return float(m["t"])
    return None


@contextlib.contextmanager
def hub_session(*, endpoint: str, timeout: float, max_retries: int, backoff_base: float, backoff_max: float,
                retry_after_max: float) -> Iterator[ResilientTransport]:
    """Make huggingface_hub's shared client use a ResilientTransport for the duration of the block."""
    from huggingface_hub.utils import _http as hf_http

    transport = ResilientTransport(timeout=timeout, max_retries=max_retries, backoff_base=backoff_base,
                                   backoff_max=backoff_max, retry_after_max=retry_after_max, endpoint=endpoint)

    def factory() -> httpx2.Client:
        return httpx2.Client(event_hooks={"request": [hf_http.hf_request_event_hook]}, follow_redirects=True,
                             timeout=timeout, transport=transport)

    previous = getattr(hf_http, "_GLOBAL_CLIENT_FACTORY", hf_http.default_client_factory)
    hf_http.set_client_factory(factory)
    try:
        yield transport
    finally:
        hf_http.set_client_factory(previous)
        transport.close()


# --- what the hub says about one model ------------------------------------------------------------------------------

class HubFacts(BaseModel):
    """One model as the hub describes it. Validated: an item that does not fit is skipped, never written."""

    model_config = ConfigDict(extra="ignore")
    hf_id: str = Field(min_length=1, max_length=200)
    sha: str | None = None
    last_modified: dt.datetime | None = None
    created_at: dt.datetime | None = None
    tags: list[str] = []
    gated: str = "false"  # "false" | "auto" | "manual"
    license_tag: str | None = None
    pipeline_tag: str | None = None
    library: str | None = None
    parameters: int | None = Field(None, ge=0)
    downloads: int | None = Field(None, ge=0)
    likes: int | None = Field(None, ge=0)
    trending_score: float | None = None

    @field_validator("hf_id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", v):
            raise ValueError(f"not a hub repo id: {v!r}")
        return v

    @field_validator("last_modified", "created_at")
    @classmethod
    def _utc(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is not None and v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)
        return v


def facts_from_info(info: Any) -> HubFacts:
    """A huggingface_hub ModelInfo as HubFacts. Raises pydantic.ValidationError (or TypeError) when malformed."""
    tags = info.tags or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise TypeError(f"tags is not a list of strings: {tags!r:.80}")
    license_tag = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), None)
    gated = info.gated
    gated = "false" if gated in (None, False, "false", "False") else str(gated)
    parameters = None
    if info.safetensors is not None:
        parameters = info.safetensors.total
    return HubFacts(
        hf_id=info.id, sha=info.sha, last_modified=info.last_modified, created_at=info.created_at, tags=tags,
        gated=gated, license_tag=license_tag, pipeline_tag=info.pipeline_tag, library=info.library_name,
        parameters=parameters, downloads=info.downloads, likes=info.likes,
        trending_score=getattr(info, "trending_score", None),
    )
