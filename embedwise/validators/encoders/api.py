"""OpenAI-compatible HTTP `/embeddings` APIs, with retries, rate-limit waits and key redaction (httpx is lazy)."""
from __future__ import annotations

import email.utils
import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from embedwise.errors import ModelRunError
from embedwise.validators.encoders.base import BaseEncoder

DEFAULT_API_BASE = "https://api.openai.com/v1"
# Providers whose own endpoint speaks the OpenAI embeddings protocol (the owner part of the knowledge-base id).
PROVIDER_ENDPOINTS = {"openai": DEFAULT_API_BASE, "mistral": "https://api.mistral.ai/v1",
                      "voyage": "https://api.voyageai.com/v1", "jina": "https://api.jina.ai/v1",
                      "jinaai": "https://api.jina.ai/v1"}


@dataclass
class APIStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    malformed: int = 0
    waited_seconds: float = 0.0
    prompt_tokens: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"requests": self.requests, "retries": self.retries, "rate_limited": self.rate_limited,
                "server_errors": self.server_errors, "malformed_responses": self.malformed,
                "waited_seconds": round(self.waited_seconds, 3), "prompt_tokens": self.prompt_tokens}


class APIEncoder(BaseEncoder):
    """An OpenAI-compatible `/embeddings` endpoint. The base URL and key come from the environment
    (EMBEDWISE_API_BASE_URL or OPENAI_BASE_URL; EMBEDWISE_API_KEY or OPENAI_API_KEY, or the variable named by
    `api_key_env`); the key is sent in the Authorization header only, and never printed nor stored."""

    kind = "api"
    serialize_requests = False
    RETRY_STATUSES = {408, 409, 425, 429}

    def __init__(self, name: str, api_model: str, *, record: Any = None, base_url: str | None = None,
                 provider: str | None = None, api_key_env: str | None = None, batch_size: int = 64, max_retries: int = 6,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, max_retry_after: float = 120.0,
                 timeout: float = 60.0, price_per_million_tokens: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_chars_per_request: int = 400_000):
        super().__init__()
        self.name = name
        self.api_model = api_model
        self.record = record
        self.model_id = record.id if record is not None else None
        if provider is None and record is not None:
            provider = record.id.split("/", 1)[0].lower()
        self.provider = provider
        openai_like = provider in (None, "openai")
        chosen = (base_url or os.environ.get("EMBEDWISE_API_BASE_URL")
                  or (os.environ.get("OPENAI_BASE_URL") if openai_like else None)
                  or PROVIDER_ENDPOINTS.get(provider or "openai"))
        self.base_url = chosen.rstrip("/") if chosen else None
        self._key_env = api_key_env
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff_base, self.backoff_cap, self.max_retry_after = backoff_base, backoff_cap, max_retry_after
        self.timeout = timeout
        self.sleep = sleep
        self.max_chars_per_request = max_chars_per_request
        self.stats = APIStats()
        self.query_prefix = (record.query_prefix if record is not None else "") or ""
        self.document_prefix = (record.document_prefix if record is not None else "") or ""
        self.max_tokens = record.max_tokens if record is not None else None
        self.price_per_million_tokens = price_per_million_tokens if price_per_million_tokens is not None else (
            record.price_per_million_tokens if record is not None else None)
        self.public_url = public_url(self.base_url) if self.base_url else None
        self.revision = f"api:{self.public_url or provider}:{api_model}"
        self._client: Any = None
        self._rng = random.Random(0)
        self.empty_inputs_replaced = 0

    def _key_variables(self) -> list[str]:
        names = [self._key_env] if self._key_env else []
        names.append("EMBEDWISE_API_KEY")
        if self.provider and self.provider != "openai":
            names.append(f"{self.provider.upper().replace('-', '_')}_API_KEY")
        if self.provider in (None, "openai") or not self.provider:
            names.append("OPENAI_API_KEY")
        return names

    def _api_key(self) -> str | None:
        for var in self._key_variables():
            value = os.environ.get(var)
            if value:
                return value
        return None

    def _redact(self, text: str) -> str:
        key = self._api_key()
        return text.replace(key, "***") if key else text

    def _load(self) -> None:
        import httpx

        if self.base_url is None:
            raise ModelRunError(f"{self.name}: {self.provider}'s API does not speak the OpenAI embeddings protocol; "
                                "set EMBEDWISE_API_BASE_URL to an OpenAI-compatible gateway for it (and EMBEDWISE_API_KEY)")
        key = self._api_key()
        if not key and self.base_url in PROVIDER_ENDPOINTS.values():
            raise ModelRunError(f"{self.name}: no API key; set {' or '.join(self._key_variables())} in the environment")
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        # per read at most 10 s (the deadline in _post bounds the whole request)
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=min(self.timeout, 10.0))
        # One tiny request: the API's 'load time' is the first round trip, and a bad model name fails here.
        vec, _ = self._request(["hello"])
        self.dimension = int(vec.shape[1])

    def _retry_after(self, response: Any) -> float | None:
        ms = response.headers.get("retry-after-ms")
        if ms:
            try:
                return float(ms) / 1000.0
            except ValueError:
                pass
        value = response.headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError):
                return None

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, self.backoff_base * (2 ** attempt)) * (0.5 + 0.5 * self._rng.random())

    def _wait(self, seconds: float) -> None:
        self.stats.waited_seconds += seconds
        if seconds > 0:
            self.sleep(seconds)

    def _post(self, body: str) -> Any:
        """POST with a deadline on the whole request, body included: a server that trickles bytes cannot hang us."""
        import httpx

        deadline = time.monotonic() + self.timeout
        with self._client.stream("POST", "/embeddings", content=body) as response:
            chunks = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"the whole request took over {self.timeout:g} s")
            return httpx.Response(response.status_code, headers=response.headers, content=b"".join(chunks),
                                  request=response.request)

    def _request(self, texts: list[str]) -> tuple[np.ndarray, int | None]:
        import httpx

        payload = {"model": self.api_model, "input": texts}
        last_error = "no attempt made"
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.retries += 1
            self.stats.requests += 1
            try:
                response = self._post(json.dumps(payload))
            except httpx.TransportError as exc:  # connection refused, reset, timeout
                last_error = f"{type(exc).__name__}: {exc}"
                self._wait(self._backoff(attempt))
                continue
            status = response.status_code
            if status == 429 or status in self.RETRY_STATUSES:
                self.stats.rate_limited += status == 429
                wait = self._retry_after(response)
                if wait is None:
                    wait = self._backoff(attempt)
                elif wait > self.max_retry_after:
                    raise ModelRunError(f"{self.name}: rate limited, the API asks to wait {wait:.0f}s "
                                        f"(more than {self.max_retry_after:.0f}s); try later or lower the volume")
                last_error = f"HTTP {status} (rate limited)"
                self._wait(wait)
                continue
            if status >= 500:
                self.stats.server_errors += 1
                last_error = f"HTTP {status}: {self._redact(response.text[:200])}"
                wait = self._retry_after(response)
                self._wait(min(wait, self.max_retry_after) if wait is not None else self._backoff(attempt))
                continue
            if status >= 400:
                raise ModelRunError(f"{self.name}: the API refused the request: HTTP {status}: "
                                    f"{self._redact(response.text[:300])}")
            try:
                body = response.json()
                items = sorted(body["data"], key=lambda d: d.get("index", 0))
                vectors = np.asarray([d["embedding"] for d in items], dtype=np.float32)
                if vectors.ndim != 2 or len(vectors) != len(texts):
                    raise ValueError(f"{len(vectors)} embeddings for {len(texts)} inputs")
                usage = body.get("usage") or {}
                tokens = usage.get("prompt_tokens", usage.get("total_tokens"))
                if tokens is not None:
                    self.stats.prompt_tokens += int(tokens)
                return vectors, (int(tokens) if tokens is not None else None)
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
                self.stats.malformed += 1
                last_error = f"malformed response: {exc}"
                self._wait(self._backoff(attempt))
                continue
        raise ModelRunError(f"{self.name}: the API failed after {self.max_retries + 1} attempts; last: "
                            f"{self._redact(last_error)}")

    def _encode(self, texts: list[str], prefix: str, batch_size: int) -> tuple[np.ndarray, list[int] | None]:
        inputs = []
        for t in texts:
            t = prefix + t
            if not t.strip():
                self.empty_inputs_replaced += 1
                t = " "  # OpenAI refuses empty strings
            inputs.append(t)
        out: list[np.ndarray] = []
        tokens: list[int] = []
        start = 0
        while start < len(inputs):
            end, chars = start, 0
            while end < len(inputs) and end - start < batch_size and (end == start or chars + len(inputs[end]) <= self.max_chars_per_request):
                chars += len(inputs[end])
                end += 1
            batch = inputs[start:end]
            vecs, used = self._request(batch)
            out.append(vecs)
            estimate = [max(1, len(t) // 4) for t in batch]
            if used is not None and sum(estimate):
                scale = used / sum(estimate)
                share = [max(1, int(round(e * scale))) for e in estimate]
                share[-1] = max(1, share[-1] + used - sum(share))
                tokens += share
            else:
                tokens += estimate
            start = end
        return np.vstack(out), tokens

    def describe(self) -> dict:
        d = super().describe()
        d.update({"api_model": self.api_model, "base_url": self.public_url, "api": self.stats.as_dict()})
        return d

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def public_url(url: str) -> str:
    """The URL as reports and caches may store it: no user:password@, and query values (?api-key=...) masked."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
