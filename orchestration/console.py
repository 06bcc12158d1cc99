"""What `flowmart` prints, and where the rest goes: a few lines per run on the console, the full logs in
files beside the warehouse (`warehouse/logs/flowmart.log` for the loaders, `warehouse/logs/dbt.log` for
dbt), and one clear message for an error."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.settings import duckdb_path


def log_dir() -> Path:
    """warehouse/logs (beside the DuckDB file, wherever FLOWMART_DUCKDB_PATH puts it)."""
    return duckdb_path().parent / "logs"


class _CliOnly(logging.Filter):
    """On the console without --verbose: the CLI's own lines (logger `flowmart`), and warnings from all."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name == "flowmart"


class _LogFile(logging.FileHandler):
    """A log file opened (and its folder made) at its first line: a command that stops on a configuration
    error leaves nothing beside the warehouse."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=True)

    def _open(self) -> Any:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def setup_logging(verbose: bool) -> Path:
    """Console: the CLI's lines and every warning (everything with --verbose). File: every INFO line of the
    loaders (DEBUG with --verbose) in warehouse/logs/flowmart.log. Returns the file's path."""
    level = logging.DEBUG if verbose else logging.INFO
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S"))
    if not verbose:
        console.addFilter(_CliOnly())
    path = log_dir() / "flowmart.log"
    file = _LogFile(path)
    file.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[console, file], force=True)
    for noisy in ("dlt", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path


class DbtProgress:
    """Receives dbt's console events (JSON lines) instead of the console: prints a progress line each
    quarter of the nodes, and dbt's errors as dbt prints them; keeps the names of the tests that warned."""

    def __init__(self, out: Any = None) -> None:
        self.out = out or sys.stdout
        self.done = 0
        self.total = 0
        self.errors = 0
        self.warned: list[str] = []
        self._step = 0
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            if line.strip():
                self._event(json.loads(line))
        return len(text)

    def flush(self) -> None:
        pass

    def _event(self, event: dict[str, Any]) -> None:
        info, data = event["info"], event.get("data") or {}
        if info["level"] == "error":
            self.errors += info["name"] in ("LogModelResult", "LogTestResult")
            print(info["msg"], file=self.out, flush=True)
        if info["name"] == "LogTestResult" and data.get("status") == "warn":
            self.warned.append(data["name"])
        if info["name"] in ("LogModelResult", "LogTestResult", "LogSnapshotResult", "LogSeedResult",
                            "SkippingDetails", "LogNodeNoOpResult"):
            self.done += 1
            self.total = int(data.get("total") or data.get("num_models") or self.total)
            step = 4 * self.done // max(self.total, 1)
            if step > self._step:
                self._step = step
                failed = f", {self.errors} failed" if self.errors else ""
                print(f"dbt build: {self.done} of {self.total} models and tests done{failed}", file=self.out,
                      flush=True)


@contextlib.contextmanager
def dbt_progress(out: Any = None) -> Iterator[DbtProgress]:
    """For the dbt runs inside the block: the console gets the progress lines of DbtProgress, the full log
    goes to warehouse/logs/dbt.log (dbt's debug lines, without colours)."""
    from dbt_common.events.functions import capture_stdout_logs, stop_capture_stdout_logs

    progress = DbtProgress(out)
    flags = {"DBT_LOG_PATH": str(log_dir()), "DBT_LOG_FORMAT": "json", "DBT_LOG_FORMAT_FILE": "debug",
             "DBT_USE_COLORS": "false", "DBT_USE_COLORS_FILE": "false", "DBT_LOG_LEVEL": "info"}
    saved = {k: os.environ.get(k) for k in flags}
    os.environ.update(flags)
    capture_stdout_logs(progress)  # dbt's console logger writes to this stream instead of stdout
    try:
        yield progress
    finally:
        stop_capture_stdout_logs()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def describe(exc: BaseException) -> str:
    """One message for an error: flowmart's own error (a loader's, the org config's) when a library wrapped
    it (dlt wraps what a source raises), else the error's text."""
    chain, seen = exc, set()
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        if type(chain).__module__.startswith(("pipelines.", "orchestration.")):
            return str(chain)
        chain = chain.__cause__ or chain.__context__
    return str(exc) or type(exc).__name__


def stop_on_termination() -> None:
    """SIGTERM and SIGHUP stop flowmart as Ctrl-C does (KeyboardInterrupt naming the signal), so the run ends
    through its clean-ups: the sample API server stops, the run lock is released, a full refresh is undone."""
    import signal

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)


def interruption(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (Ctrl-C, SIGTERM, SIGHUP) behind an error, if any: dlt wraps it in its own error."""
    chain, seen = exc, set()
    while chain is not None and id(chain) not in seen:
        if isinstance(chain, KeyboardInterrupt):
            return chain
        seen.add(id(chain))
        chain = chain.__cause__ or chain.__context__
    return None


def signal_name(exc: KeyboardInterrupt) -> str:
    """SIGINT (Ctrl-C), or the signal that flowmart's handler or dlt's turned into this KeyboardInterrupt."""
    import signal

    if getattr(exc, "signal_code", None):  # dlt's, for a signal during its normalize or load step
        return signal.Signals(exc.signal_code).name
    return exc.args[0] if exc.args and str(exc.args[0]).startswith("SIG") else "SIGINT"


def stopped(exc: KeyboardInterrupt) -> tuple[str, int]:
    """(what to print, exit code 128 + the signal's number) for a run stopped by a signal; a KeyboardInterrupt
    of (signal name, where) says where it stopped."""
    import signal

    name = signal_name(exc)
    where = f" while {exc.args[1]}" if len(exc.args) > 1 else ""
    return f"stopped by {'Ctrl-C' if name == 'SIGINT' else name}{where}", 128 + int(signal.Signals[name])
