"""A local HTTP server that serves a sample organisation the way Jira Cloud and GitHub do.

`flowmart run` on the sample starts it on a free localhost port and runs the real loaders against it;
the tests use the same server. API modules (`jira_api`, `github_api`) register their routes on a
`Router`. Faults can be switched on per path pattern, from Python (`server.faults.add(...)`) or over
HTTP (`POST /_control/faults` with the same fields as JSON; `DELETE /_control/faults` clears them):

- `429`: answers 429 with `Retry-After: <retry_after>`
- `500` (or any 5xx code as a string): answers that status
- `slow`: sleeps `delay` seconds before answering normally
- `truncated`: answers 200 with the JSON body cut in half

`latency` (seconds; `SampleApiServer(..., latency=0.15)`, `flowmart serve-sample --latency 0.15`, or env
`FLOWMART_SAMPLE_LATENCY`) delays every API answer by that much, as a network between the loader and a
real Jira or GitHub would. Each request sleeps in its own thread, holding no lock, so concurrent requests
overlap their waits just as they would over a network.
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("flowmart.sample.server")

try:  # orjson (a dependency of dlt) serialises pages several times faster: the server must not be the bottleneck
    import orjson

    def _dumps(body: Any) -> bytes:
        try:
            return orjson.dumps(body)
        except TypeError:  # e.g. an integer beyond 64 bits
            return json.dumps(body, separators=(",", ":")).encode("utf-8")
except ImportError:  # pragma: no cover
    def _dumps(body: Any) -> bytes:
        return json.dumps(body, separators=(",", ":")).encode("utf-8")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route pattern
    base_url: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        return int(value) if value not in (None, "") else default


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` is a regex matched against the whole path, with named groups for parameters."""
        self._routes.append((method.upper(), re.compile(pattern + r"/?$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for route_method, pattern, handler in self._routes:
            if route_method == method:
                m = pattern.match(path)
                if m:
                    return handler, m.groupdict()
        return None


@dataclass
class Fault:
    pattern: str
    kind: str  # "429", "5xx code", "slow", "truncated"
    times: int = 1  # how many matching requests it hits; -1 = every one
    retry_after: float = 1
    delay: float = 2.0
    skip: int = 0  # let this many matching requests through first (e.g. fail from the 3rd page on)
    hits: int = 0


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, pattern: str, kind: str, times: int = 1, retry_after: float = 1, delay: float = 2.0,
            skip: int = 0) -> Fault:
        fault = Fault(pattern, str(kind), times, retry_after, delay, skip)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path_and_query: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times != 0 and re.search(fault.pattern, path_and_query):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.times > 0:
                        fault.times -= 1
                    fault.hits += 1
                    return fault
        return None


class SampleApiServer:
    """Serves the sample folder written by `flowmart sample`. Use as a context manager."""

    def __init__(self, sample_dir: str | Path, host: str = "127.0.0.1", port: int = 0,
                 latency: float | None = None) -> None:
        self.sample_dir = Path(sample_dir)
        self.latency = latency_setting(latency)
        self.router = Router()
        self.faults = FaultInjector()
        self.request_log: list[tuple[str, str]] = []  # (method, path?query)
        self._log_lock = threading.Lock()
        self.apis: dict[str, Any] = {}
        self._install_apis()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    def _install_apis(self) -> None:
        from pipelines.sample import jira_api

        self.apis["jira"] = jira_api.register(self.router, self.sample_dir / "jira")
        try:
            from pipelines.sample import github_api
        except ImportError:  # pragma: no cover - optional while the GitHub API is not built
            github_api = None
        if github_api is not None and (self.sample_dir / "github").exists():
            self.apis["github"] = github_api.register(self.router, self.sample_dir / "github")

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SampleApiServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sample-api", daemon=True)
        self._thread.start()
        log.info("sample API server listening on %s", self.url)
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SampleApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def github_usage(self) -> dict[str, Any]:
        """What the fake GitHub API answered: REST and GraphQL requests, GraphQL points by GitHub's cost formula
        (also served at GET /_control/usage)."""
        return self.apis["github"].usage()

    def requests_matching(self, pattern: str) -> list[str]:
        with self._log_lock:
            return [p for _, p in self.request_log if re.search(pattern, p)]

    # --- HTTP ----------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # keep-alive responses would otherwise wait ~40 ms for Nagle's algorithm on every request
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
                log.debug(format, *args)

            def _serve(self) -> None:
                server._dispatch(self)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        return _Handler

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        with self._log_lock:
            self.request_log.append((h.command, h.path))
        if parts.path.startswith("/_control/faults"):
            self._control(h, raw)
            return
        if self.latency > 0:  # the network's round trip; this thread only, no lock held
            time.sleep(self.latency)
        fault = self.faults.take(h.path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind != "truncated":
            status = int(fault.kind)
            headers = {"Retry-After": str(int(fault.retry_after))} if status == 429 else {}
            self._send(h, Response(status, {"errorMessages": [f"injected {status}"]}, headers))
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(h, Response(400, {"errorMessages": ["request body is not JSON"]}))
            return
        found = self.router.match(h.command, parts.path)
        if found is None:
            self._send(h, Response(404, {"errorMessages": [f"no route for {h.command} {parts.path}"]}))
            return
        handler, params = found
        request = Request(
            h.command, parts.path, parse_qs(parts.query), dict(h.headers.items()), body, params, self.url
        )
        try:
            response = handler(request)
        except Exception as exc:  # a bug in the fake API must show, not hang the client
            log.exception("sample API handler failed")
            response = Response(500, {"errorMessages": [f"{type(exc).__name__}: {exc}"]})
        self._send(h, response, truncate=fault is not None)

    def _control(self, h: BaseHTTPRequestHandler, raw: bytes) -> None:
        if h.command == "DELETE":
            self.faults.clear()
            self._send(h, Response(204))
            return
        spec = json.loads(raw or b"{}")
        self.faults.add(**spec)
        self._send(h, Response(201, {"ok": True}))

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, response: Response, truncate: bool = False) -> None:
        if response.body is None:
            data = b""
        elif isinstance(response.body, bytes):
            data = response.body
        else:
            data = _dumps(response.body)
        if truncate:
            data = data[: max(1, len(data) // 2)]
        h.send_response(response.status)
        if data:
            h.send_header("Content-Type", "application/json;charset=UTF-8")
        for name, value in response.headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if data:
            h.wfile.write(data)


def latency_setting(latency: float | None) -> float:
    """The answer delay in seconds: the argument, else env FLOWMART_SAMPLE_LATENCY, else none."""
    if latency is None:
        latency = float(os.environ.get("FLOWMART_SAMPLE_LATENCY") or 0)
    if latency < 0:
        raise ValueError(f"latency must be >= 0 seconds, not {latency}")
    return float(latency)


class SubprocessServer:
    """The sample server in a child process (`python -m pipelines.sample.server DIR`), so serving and
    loading use both cores (the demo and the benchmarks). Faults are switched over HTTP
    (`/_control/faults`); tests that mutate the data use the in-process `SampleApiServer`.

    The child dies with its parent whatever ends the parent (SIGKILL included): it serves only while its
    stdin, a pipe from the parent, is open. It ignores Ctrl-C, which the terminal sends to both: the
    parent stops the run and then the server."""

    def __init__(self, sample_dir: str | Path, latency: float | None = None) -> None:
        self.sample_dir = Path(sample_dir)
        self.latency = latency_setting(latency)
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> SubprocessServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.sample.server", str(self.sample_dir), "--until-stdin-closes",
             f"--latency={self.latency}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
        )
        ready, _, _ = select.select([self._process.stdout], [], [], 120)
        line = self._process.stdout.readline().strip() if ready else ""
        if not line.startswith("http://"):
            self.__exit__()
            raise RuntimeError(f"the sample API server did not start (it said {line!r})")
        self.url = line
        log.info("sample API server (child process %s) listening on %s", self._process.pid, self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # never leave it behind
            self._process.kill()
            self._process.wait(timeout=10)
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe:
                pipe.close()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - runs in the child process
    """Serve a sample folder: prints the URL on the first line of stdout, serves until terminated (or, with
    --until-stdin-closes, until its stdin closes: the parent ended). `--latency=SECONDS` delays every answer."""
    args = argv if argv is not None else sys.argv[1:]
    watch = "--until-stdin-closes" in args
    latency = [float(a.split("=", 1)[1]) for a in args if a.startswith("--latency=")]
    args = [a for a in args if a != "--until-stdin-closes" and not a.startswith("--latency=")]
    server = SampleApiServer(args[0], port=int(args[1]) if len(args) > 1 else 0,
                             latency=latency[-1] if latency else None)
    if watch:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

        def parent_gone() -> None:
            sys.stdin.read()  # returns at end of file: the parent closed the pipe, or died
            os._exit(0)

        threading.Thread(target=parent_gone, daemon=True).start()
    print(server.url, flush=True)
    server._httpd.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
