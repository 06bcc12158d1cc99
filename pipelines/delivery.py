"""Delivery-events files: deployments and incidents from CI/CD and incident tools that have no loader
(Jenkins, Argo CD, PagerDuty, ...), in the CSV / JSON-lines format documented in
docs/delivery-events.md.

Every row is validated. Good rows merge on a stable key (the row's `id`, else a hash of its natural
key), so loading a file again never duplicates anything; when one load holds two rows with the same
key, the later row wins and the earlier one is reported as superseded. Bad rows land in `quarantine`
with file, line, reason and the raw row (documented columns only, e-mail addresses hashed); the
quarantine table is replaced by each load, so it always shows what is wrong with the files as they are
now. A file that cannot be read as a whole (missing, not UTF-8, not CSV/JSON lines, no `kind` or
`service` column) fails the load loudly.

Files: `sources.delivery.files` (env SOURCES__DELIVERY__FILES: JSON list or comma-separated paths or
glob patterns, relative to the working directory), else `delivery.files` of the org config when that
section exists (relative to the org config's folder).
"""

from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt

from pipelines.orgconfig import OrgConfig, load_org_config
from pipelines.privacy import Pseudonymiser
from pipelines.settings import make_pipeline

log = logging.getLogger("flowmart.delivery")

SOURCE_NAME = "delivery"
KINDS = ("deployment", "incident")
DEPLOYMENT_STATUSES = ("success", "failure", "rolled_back", "in_progress", "canceled")
STATUS_SYNONYMS = {
    "succeeded": "success",
    "successful": "success",
    "ok": "success",
    "passed": "success",
    "failed": "failure",
    "error": "failure",
    "errored": "failure",
    "rollback": "rolled_back",
    "rolled-back": "rolled_back",
    "rolledback": "rolled_back",
    "reverted": "rolled_back",
    "running": "in_progress",
    "pending": "in_progress",
    "in-progress": "in_progress",
    "cancelled": "canceled",
    "aborted": "canceled",
}
FIELDS = (
    "kind",
    "id",
    "service",
    "environment",
    "repository",
    "sha",
    "ref",
    "status",
    "started_at",
    "finished_at",
    "resolved_at",
    "severity",
    "caused_by_deployment",
    "source",
)
REQUIRED_COLUMNS = ("kind", "service")
DEFAULT_INCIDENT_ENVIRONMENT = "production"
MAX_VALUE_LENGTH = 500
MAX_RAW_LENGTH = 2000
_SHA = re.compile(r"[0-9a-f]{7,64}")
_EMAIL = re.compile(r"[^\s<>@,;\"']+@[^\s<>@,;\"']+\.[^\s<>@,;\"']+")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")

DEPLOYMENT_COLUMNS: dict[str, dict[str, Any]] = {
    "deployment_id": {"data_type": "text", "nullable": False},
    "service": {"data_type": "text", "nullable": False},
    "environment": {"data_type": "text", "nullable": False},
    "repository": {"data_type": "text"},
    "sha": {"data_type": "text"},
    "ref": {"data_type": "text"},
    "status": {"data_type": "text", "nullable": False},
    "started_at": {"data_type": "timestamp"},
    "finished_at": {"data_type": "timestamp"},
    "source_tool": {"data_type": "text"},
    "source_file": {"data_type": "text"},
    "source_line": {"data_type": "bigint"},
}
INCIDENT_COLUMNS: dict[str, dict[str, Any]] = {
    "incident_id": {"data_type": "text", "nullable": False},
    "service": {"data_type": "text", "nullable": False},
    "environment": {"data_type": "text", "nullable": False},
    "severity": {"data_type": "text", "nullable": False},
    "started_at": {"data_type": "timestamp"},
    "resolved_at": {"data_type": "timestamp"},
    "caused_by_deployment_id": {"data_type": "text"},
    "source_tool": {"data_type": "text"},
    "source_file": {"data_type": "text"},
    "source_line": {"data_type": "bigint"},
}
QUARANTINE_COLUMNS: dict[str, dict[str, Any]] = {
    "quarantine_id": {"data_type": "text", "nullable": False},
    "source_file": {"data_type": "text", "nullable": False},
    "source_line": {"data_type": "bigint", "nullable": False},
    "kind": {"data_type": "text"},
    "reason": {"data_type": "text", "nullable": False},
    "raw_row": {"data_type": "text"},
    "quarantined_at": {"data_type": "timestamp"},
}


class DeliveryFileError(ValueError):
    """A delivery-events file cannot be read as a whole; the message names the file (and line)."""


@dataclass
class RawRow:
    file: str
    line: int
    values: dict[str, Any]  # documented fields as found in the file
    ignored: list[str] = field(default_factory=list)  # undocumented columns (not landed)
    text: str | None = None  # the raw text when the row could not be split into fields


@dataclass
class ParsedEvents:
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[tuple[str, str]] = field(default_factory=list)  # (earlier file:line, later file:line)
    rows_read: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "deployments": len(self.deployments),
            "incidents": len(self.incidents),
            "quarantined": len(self.quarantine),
            "superseded": len(self.superseded),
        }


# --- reading files -----------------------------------------------------------------------------


def _clean_header(name: str) -> str:
    return name.strip().lower().lstrip("\ufeff")


def read_csv(path: Path, label: str) -> Iterator[RawRow]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DeliveryFileError(f"{label}: cannot read the file ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        line = 0
        try:
            header = next(reader, None)
            if header is None:
                log.warning("%s: empty file", label)
                return
            columns = [_clean_header(h) for h in header]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise DeliveryFileError(
                    f"{label}: not a delivery-events CSV: the header (line 1) lacks {', '.join(missing)} "
                    f"(found: {', '.join(columns) or 'nothing'})"
                )
            if len(set(columns)) != len(columns):
                raise DeliveryFileError(f"{label}: the header (line 1) names a column twice: {', '.join(columns)}")
            ignored = [c for c in columns if c not in FIELDS]
            if ignored:
                log.info("%s: undocumented columns ignored: %s", label, ", ".join(ignored))
            line = reader.line_num
            for record in reader:
                start, line = line + 1, reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                values = {c: v for c, v in zip(columns, record, strict=False) if c in FIELDS}
                row = RawRow(label, start, values, ignored)
                if len(record) != len(columns):
                    row.text = ",".join(record)
                    row.values["__error__"] = f"has {len(record)} fields, the header has {len(columns)}"
                yield row
        except UnicodeDecodeError as exc:
            raise DeliveryFileError(f"{label}: not UTF-8 text near line {line + 1} ({exc.reason})") from None
        except csv.Error as exc:
            raise DeliveryFileError(f"{label}: unreadable CSV at line {reader.line_num}: {exc}") from None


def read_jsonl(path: Path, label: str) -> Iterator[RawRow]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DeliveryFileError(f"{label}: cannot read the file ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DeliveryFileError(f"{label}: not UTF-8 text at line {line} ({exc.reason})") from None
    for number, line_text in enumerate(text.splitlines(), start=1):
        if not line_text.strip():
            continue
        try:
            obj = json.loads(line_text)
        except json.JSONDecodeError as exc:
            yield RawRow(label, number, {"__error__": f"not valid JSON ({exc.msg} at column {exc.colno})"},
                         text=line_text)
            continue
        if not isinstance(obj, dict):
            yield RawRow(label, number, {"__error__": f"not a JSON object (got {type(obj).__name__})"},
                         text=line_text)
            continue
        keys = {_clean_header(str(k)): v for k, v in obj.items()}
        values = {k: v for k, v in keys.items() if k in FIELDS}
        yield RawRow(label, number, values, [k for k in keys if k not in FIELDS])


def read_file(path: Path, label: str | None = None) -> Iterator[RawRow]:
    label = label or str(path)
    if not path.is_file():
        raise DeliveryFileError(f"{label}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, label)
    if suffix in _JSONL_SUFFIXES:
        return read_jsonl(path, label)
    raise DeliveryFileError(f"{label}: unknown file type {suffix!r}; use .csv or .jsonl (JSON lines)")


# --- validation ------------------------------------------------------------------------------


def _text(values: dict[str, Any], name: str, errors: list[str]) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if isinstance(value, dict | list):
        errors.append(f"{name} must be a single value, got {type(value).__name__}")
        return None
    text = str(value).strip()
    if len(text) > MAX_VALUE_LENGTH:
        errors.append(f"{name} is longer than {MAX_VALUE_LENGTH} characters")
        return None
    return text or None


def _timestamp(values: dict[str, Any], name: str, errors: list[str], required: bool) -> datetime | None:
    value = values.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(f"{name} is missing")
        return None
    if not isinstance(value, str):
        errors.append(f"{name} must be an ISO 8601 text with a UTC offset, got {value!r}")
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        errors.append(f"{name} is not an ISO 8601 timestamp: {text!r}")
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        errors.append(f"{name} has no UTC offset (write Z or +hh:mm): {text!r}")
        return None
    return parsed.astimezone(UTC)


def _key(prefix: str, *parts: Any) -> str:
    text = "\x1f".join("" if p is None else (p.isoformat() if isinstance(p, datetime) else str(p)) for p in parts)
    return prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def validate(raw: RawRow) -> tuple[str | None, dict[str, Any] | None, list[str]]:
    """(kind, row, errors): a landed row when errors is empty."""
    values = raw.values
    errors: list[str] = []
    if "__error__" in values:
        return None, None, [values["__error__"]]
    kind = (_text(values, "kind", errors) or "").lower() or None
    if kind is None:
        errors.append("kind is missing (deployment or incident)")
    elif kind not in KINDS:
        errors.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    given_id = _text(values, "id", errors)
    service = _text(values, "service", errors)
    if service is None:
        errors.append("service is missing")
    environment = _text(values, "environment", errors)
    started = _timestamp(values, "started_at", errors, required=True)
    source_tool = _text(values, "source", errors)
    common = {"service": service, "source_tool": source_tool, "source_file": raw.file, "source_line": raw.line}
    if kind == "deployment":
        sha = (_text(values, "sha", errors) or "").lower() or None
        ref = _text(values, "ref", errors)
        if sha is not None and not _SHA.fullmatch(sha):
            errors.append(f"sha {sha!r} is not a hexadecimal commit id (7 to 64 characters)")
        if sha is None and ref is None:
            errors.append("sha or ref is required")
        if environment is None:
            errors.append("environment is missing")
        status_text = (_text(values, "status", errors) or "").lower() or None
        status = STATUS_SYNONYMS.get(status_text or "", status_text)
        if status is None:
            errors.append("status is missing")
        elif status not in DEPLOYMENT_STATUSES:
            errors.append(f"status {status_text!r} is not one of {', '.join(DEPLOYMENT_STATUSES)}")
        finished = _timestamp(values, "finished_at", errors, required=status not in (None, "in_progress"))
        if started and finished and finished < started:
            errors.append("finished_at is before started_at")
        for unexpected in ("resolved_at", "severity", "caused_by_deployment"):
            if _text(values, unexpected, []):
                errors.append(f"{unexpected} does not belong to a deployment")
        repository = _text(values, "repository", errors)
        if errors:
            return kind, None, errors
        deployment_id = given_id or _key("dep_", service, environment, sha or ref, started)
        return kind, {
            "deployment_id": deployment_id,
            "service": service,
            "environment": environment,
            "repository": repository,
            "sha": sha,
            "ref": ref,
            "status": status,
            "started_at": started,
            "finished_at": finished,
        } | common, errors
    if kind == "incident":
        severity = _text(values, "severity", errors)
        if severity is None:
            errors.append("severity is missing")
        resolved = _timestamp(values, "resolved_at", errors, required=False)
        if started and resolved and resolved < started:
            errors.append("resolved_at is before started_at")
        for unexpected in ("finished_at", "status", "sha", "ref"):
            if _text(values, unexpected, []):
                errors.append(f"{unexpected} does not belong to an incident")
        caused_by = _text(values, "caused_by_deployment", errors)
        if errors:
            return kind, None, errors
        environment = environment or DEFAULT_INCIDENT_ENVIRONMENT
        return kind, {
            "incident_id": given_id or _key("inc_", service, environment, started),
            "service": service,
            "environment": environment,
            "severity": severity,
            "started_at": started,
            "resolved_at": resolved,
            "caused_by_deployment_id": caused_by,
        } | common, errors
    return kind, None, errors


def _raw_text(raw: RawRow, pseudonymise: Pseudonymiser) -> str:
    """The row as found, restricted to documented fields, with e-mail addresses hashed."""
    if raw.text is not None and "__error__" in raw.values and len(raw.values) == 1:
        text = raw.text
    else:
        shown = {k: v for k, v in raw.values.items() if k != "__error__"}
        if raw.ignored:
            shown["_ignored_columns"] = raw.ignored
        text = json.dumps(shown, ensure_ascii=False, default=str)
    return _scrub(text, pseudonymise)[:MAX_RAW_LENGTH]


def _scrub(text: str, pseudonymise: Pseudonymiser) -> str:
    """Replace every e-mail address in a text by its pseudonym."""
    return _EMAIL.sub(lambda m: pseudonymise(m.group(0)) or "", text)


def parse_files(files: Sequence[tuple[Path, str]], pseudonymise: Pseudonymiser | None = None) -> ParsedEvents:
    """Read and validate every file ((path, label) pairs, in order); raise on a file unreadable as a whole."""
    pseudonymise = pseudonymise or Pseudonymiser()
    events = ParsedEvents()
    seen: dict[tuple[str, str], str] = {}
    now = datetime.now(UTC)
    for path, label in files:
        accepted = quarantined = 0
        for raw in read_file(path, label):
            events.rows_read += 1
            kind, row, errors = validate(raw)
            where = f"{raw.file}:{raw.line}"
            if errors or row is None:
                quarantined += 1
                reason = _scrub("; ".join(errors) or "invalid row", pseudonymise)  # reasons quote values
                raw_row = _raw_text(raw, pseudonymise)
                events.quarantine.append(
                    {
                        "quarantine_id": _key("q_", raw.file, raw.line, raw_row),
                        "source_file": raw.file,
                        "source_line": raw.line,
                        "kind": kind,
                        "reason": reason,
                        "raw_row": raw_row,
                        "quarantined_at": now,
                    }
                )
                log.warning("%s: quarantined: %s", where, reason)
                continue
            accepted += 1
            table, key = (
                (events.deployments, row["deployment_id"])
                if kind == "deployment"
                else (events.incidents, row["incident_id"])
            )
            if (kind, key) in seen:
                events.superseded.append((seen[(kind, key)], where))
                log.info("%s: %s %s superseded by %s (same key)", seen[(kind, key)], kind, key, where)
                del table[key]  # keep file order: the later row replaces the earlier one
            seen[(kind, key)] = where
            table[key] = row
        log.info("%s: %d rows accepted, %d quarantined", label, accepted, quarantined)
    return events


# --- dlt source ------------------------------------------------------------------------------


class DeliveryEvents:
    """The files of one load, read and validated once, on first use (when the resources run)."""

    def __init__(self, files: Sequence[tuple[Path, str]], pseudonymiser: Pseudonymiser | None = None) -> None:
        self.files = list(files)
        self._pseudonymiser = pseudonymiser
        self._parsed: ParsedEvents | None = None

    @property
    def parsed(self) -> ParsedEvents:
        if self._parsed is None:
            self._parsed = parse_files(self.files, self._pseudonymiser)
        return self._parsed


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def delivery_source(files: DeliveryEvents | Sequence[tuple[Path, str]]) -> Any:
    """Deployments and incidents (merge on their key) and the quarantine of the latest load (replace).

    The files are read when the resources run, not when the source is built (e.g. by Dagster)."""
    holder = files if isinstance(files, DeliveryEvents) else DeliveryEvents(files)

    @dlt.resource(name="deployments", primary_key="deployment_id", write_disposition="merge",
                  columns=DEPLOYMENT_COLUMNS)
    def deployments() -> Iterator[list[dict[str, Any]]]:
        rows = list(holder.parsed.deployments.values())
        yield rows if rows else dlt.mark.materialize_table_schema()

    @dlt.resource(name="incidents", primary_key="incident_id", write_disposition="merge",
                  columns=INCIDENT_COLUMNS)
    def incidents() -> Iterator[list[dict[str, Any]]]:
        rows = list(holder.parsed.incidents.values())
        yield rows if rows else dlt.mark.materialize_table_schema()

    @dlt.resource(name="quarantine", primary_key="quarantine_id", write_disposition="replace",
                  columns=QUARANTINE_COLUMNS)
    def quarantine() -> Iterator[list[dict[str, Any]]]:
        # replaced by every load, so it shows the files as they are now; empty: the table is emptied
        rows = list(holder.parsed.quarantine)
        yield rows if rows else dlt.mark.materialize_table_schema()

    return deployments, incidents, quarantine


# --- configuration and entry points ------------------------------------------------------------


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DeliveryFileError(f"SOURCES__DELIVERY__FILES is not a valid JSON list: {exc}") from None
        else:
            return [p.strip() for p in text.split(",") if p.strip()]
    if not isinstance(value, list | tuple):
        raise DeliveryFileError(f"expected a list of files, got {type(value).__name__}")
    return [str(v).strip() for v in value if str(v).strip()]


def _expand(entries: Iterable[str], base: Path) -> list[tuple[Path, str]]:
    files: list[tuple[Path, str]] = []
    for entry in entries:
        path = Path(entry).expanduser()
        full = path if path.is_absolute() else base / path
        if glob.has_magic(entry):
            matches = sorted(Path(p) for p in glob.glob(str(full)))
            if not matches:
                log.warning("%s: no file matches", entry)
            files.extend((m, str(m if path.is_absolute() else m.relative_to(base))) for m in matches)
        else:
            files.append((full, entry))
    return files


def configured_files(org: OrgConfig | None, org_dir: Path | None) -> list[tuple[Path, str]]:
    """(path, label) of every file: `sources.delivery.files` when set, else the org config's `delivery.files`."""
    override = _as_list(dlt.config.get("sources.delivery.files"))
    if override is not None:
        return _expand(override, Path.cwd())
    section = getattr(org, "delivery", None)
    entries = list(getattr(section, "files", None) or [])
    return _expand(entries, org_dir or Path.cwd())


def run_load(files: Sequence[tuple[Path, str]], target: str | None = None) -> dict[str, int]:
    if not files:
        log.warning("no delivery-events files configured (SOURCES__DELIVERY__FILES)")
        return {}
    holder = DeliveryEvents(files)
    events = holder.parsed  # a file unreadable as a whole fails here, before anything is written
    pipeline = make_pipeline(SOURCE_NAME, target)
    pipeline.run(delivery_source(holder))
    summary = events.summary()
    message = (
        f"delivery events: {summary['rows_read']} rows read from {len(files)} file(s): "
        f"{summary['deployments']} deployments and {summary['incidents']} incidents accepted, "
        f"{summary['quarantined']} quarantined, {summary['superseded']} superseded by a later row"
    )
    log.info(message)
    print(message)
    for row in events.quarantine[:20]:
        print(f"  quarantined {row['source_file']}:{row['source_line']}: {row['reason']}")
    if len(events.quarantine) > 20:
        print(f"  ... and {len(events.quarantine) - 20} more (table raw_delivery.quarantine)")
    return {
        "deployments": summary["deployments"],
        "incidents": summary["incidents"],
        "quarantine": summary["quarantined"],
    }


def source_from_org(org: OrgConfig | None, org_dir: Path | None) -> Any:
    """The `delivery` dlt source of the configured files (for Dagster); files are read when it runs."""
    return delivery_source(DeliveryEvents(configured_files(org, org_dir)))


def load(org: OrgConfig, org_dir: Path, target: str | None = None) -> dict[str, int]:
    """Load the configured delivery-events files; rows landed per table."""
    return run_load(configured_files(org, Path(org_dir)), target)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Load delivery-events files (deployments, incidents).")
    parser.add_argument("--org", type=Path, default=None, help="org config (default: org.yml if present)")
    parser.add_argument("--target", choices=("duckdb", "postgres"), default=None)
    parser.add_argument("files", nargs="*", help="files to load (override the configuration)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.files:
        files = _expand(args.files, Path.cwd())
    else:
        org_path = args.org or (Path("org.yml") if Path("org.yml").exists() else None)
        org = load_org_config(org_path) if org_path else None
        files = configured_files(org, org_path.resolve().parent if org_path else None)
    try:
        run_load(files, args.target)
    except DeliveryFileError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
