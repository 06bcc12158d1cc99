"""HTTP for the loaders: dlt's retrying client (429/5xx/timeouts, honouring `Retry-After`), plus JSON
validation, so a malformed page is retried too and, if it stays broken, fails loudly naming the URL."""

from __future__ import annotations

import logging
import os
from typing import Any

from dlt.sources.helpers.requests import Client
from requests import Response

log = logging.getLogger("flowmart.http")


class ApiError(RuntimeError):
    """A request that stayed broken after every retry. The message names method, URL and status; `status`
    is the HTTP status of the last answer (None when there was none, e.g. a connection error)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _json_or_none(response: Response) -> Any:
    cached = getattr(response, "_flowmart_json", _MISSING)
    if cached is not _MISSING:
        return cached
    try:
        value = response.json()
    except ValueError:
        value = _MALFORMED
    response._flowmart_json = value  # type: ignore[attr-defined]
    return value


_MISSING = object()
_MALFORMED = object()


def _malformed(response: Response | None, exception: BaseException | None) -> bool:
    if response is None or response.status_code >= 300:
        return False
    return _json_or_none(response) is _MALFORMED


class ApiClient:
    """JSON API client with retries. Settings can be tuned by env (tests use small back-offs):
    FLOWMART_HTTP_MAX_ATTEMPTS (default 6), FLOWMART_HTTP_BACKOFF (seconds, default 1),
    FLOWMART_HTTP_MAX_DELAY (default 60), FLOWMART_HTTP_TIMEOUT (default 60)."""

    def __init__(self, base_url: str, *, auth: Any = None, headers: dict[str, str] | None = None,
                 auth_hint: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth_hint = auth_hint  # what to check when the API answers 401 (the credentials)
        self.max_attempts = int(os.environ.get("FLOWMART_HTTP_MAX_ATTEMPTS", "6"))
        self._client = Client(
            request_timeout=float(os.environ.get("FLOWMART_HTTP_TIMEOUT", "60")),
            raise_for_status=False,
            request_max_attempts=self.max_attempts,
            request_backoff_factor=float(os.environ.get("FLOWMART_HTTP_BACKOFF", "1")),
            request_max_retry_delay=float(os.environ.get("FLOWMART_HTTP_MAX_DELAY", "60")),
            retry_condition=_malformed,
            respect_retry_after_header=True,
            session_attrs={"headers": {"Accept": "application/json", **(headers or {})}, "auth": auth},
        )
        self.requests_sent = 0

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[Any, Response]:
        """Send, retry, and return (parsed JSON, response); raise ApiError if it stays broken."""
        url = self.url(path)
        try:
            response = self._client.request(method, url, **kwargs)
        except Exception as exc:  # connection errors after the last retry
            raise ApiError(f"{method} {url} failed after {self.max_attempts} attempts: {exc}") from exc
        self.requests_sent += 1
        if response.status_code == 401 and self.auth_hint:
            raise ApiError(f"{method} {response.url} was refused (HTTP 401, not authenticated): {self.auth_hint}",
                           status=401)
        if response.status_code >= 400:
            raise ApiError(
                f"{method} {response.url} failed with HTTP {response.status_code} after retries: "
                f"{response.text[:300]!r}", status=response.status_code,
            )
        data = _json_or_none(response)
        if data is _MALFORMED:
            raise ApiError(
                f"{method} {response.url} returned malformed JSON (HTTP {response.status_code}, "
                f"{len(response.content)} bytes) after {self.max_attempts} attempts"
            )
        return data, response

    def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, Response]:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> tuple[Any, Response]:
        return self.request("POST", path, json=body)
