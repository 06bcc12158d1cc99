"""Developer-experience survey exports (CSV, XLSX) -> `raw_survey`: validated, anonymous, loaded once.

Files come from the org config: every `*.csv`, `*.tsv`, `*.txt` and `*.xlsx` under `surveys.folder`
plus the files listed in `surveys.files` (both relative to the org config's folder). A file is known by
its name: its path relative to the survey folder (or to the org config's folder when it lies outside).

Shapes (detected from the header row, names matched ignoring case, spaces, `-` and `_`):
- *long*: respondent, submitted_at, team, question_id (or question), value (or answer); one row per answer.
- *wide*: one row per respondent, one column per question, as survey tools export. A column matches a
  catalogue question by its id or by the question's exact text (ignoring case and runs of whitespace).
Respondent, date, team and wave columns are recognised by the aliases in `ROLE_ALIASES`.

CSV: UTF-8 with or without BOM (UTF-16 with BOM too), delimiter `,` `;` tab or `|` (the most frequent
one in the header line), quoted fields may hold newlines. XLSX: the first worksheet, header in row 1.
Row numbers are the file's record numbers, header = row 1 (for XLSX: the sheet's row number).

Rules:
- Wave: `surveys.wave` of the org config, else a `wave` column, else the file name (`2025-Q3`,
  `2025_q3`, `Q3-2025` -> 2025-Q3; `2025-09` -> 2025-09), else the year-quarter of the file's median
  submission date. A file whose wave cannot be told fails the load.
- Values: likert_1_5 whole numbers 1-5 (the usual agreement labels "strongly disagree" .. "strongly
  agree" are read as 1-5), scale_0_10 whole numbers 0-10, yes_no yes/no/true/false/y/n/1/0 -> 1/0.
  The raw answer is stored: reverse scoring is applied by the marts, never here.
- Team: the file's team column (matched case-insensitively to the org config's team names), else the
  team whose `members` list holds the respondent's identity.
- Every rejected value lands in `quarantine` with file, row, column, a reason code and a detail:
  `missing_respondent`, `missing_team`, `unknown_team`, `unknown_question`, `non_numeric`,
  `out_of_scale`, `invalid_submitted_at` (the answers still land, without a date), `malformed_row`
  (cells beyond the header), `duplicate_submission`, `duplicate_answer`.
- Duplicate submissions: one respondent submits twice in one wave -> the latest `submitted_at` wins
  (a tie or missing dates: the one read last wins; rows already landed from other files lose ties);
  every answer of the losing submission is quarantined as `duplicate_submission`, also when the loser
  was landed by an earlier load from another file (it moves from `responses` to `quarantine`).
- Privacy: respondent identities (e-mail or tool id) are salted hashes (`privacy.Pseudonymiser`)
  before anything is yielded; the raw identity never lands. Quarantine keeps the rejected raw value
  (at most 60 characters) for answers to catalogue questions and for scale-like values only; other
  text is withheld. Free text: a column (or long-shape question id) that is not in the catalogue and
  whose header starts with "comment" or "free text" is free text. It lands in the restricted raw table
  `free_text_answers` only when `surveys.load_free_text` is true (no dbt source declares that table);
  otherwise it is counted as skipped and not stored anywhere.
- Loaded once: `files` records each file's SHA-256. The same name with the same hash is skipped; a new
  hash replaces every row the file's earlier version landed (responses, quarantine, free text).
  `surveys.load_free_text` and catalogue changes apply to new or changed files; set
  `SOURCES__SURVEY__RELOAD_ALL=true` to re-read every file.
- The catalogue in use lands as `questions` (replaced on every load).
- A submission is a wide row, or the long rows sharing respondent, wave and `submitted_at`; dates
  without an offset are UTC.

Tables of `raw_survey` (dlt resources, Dagster keys `dlt_survey_<table>`): `responses`, `quarantine`,
`files`, `questions` and, only when enabled, `free_text_answers`.

Entry points: `load(org, org_dir, target)` for the CLI; for an orchestrator that runs the dlt source
itself: `batch = prepare(org, org_dir, pipeline)`, run `survey_source(batch)`, then
`finish(pipeline, batch)` (removes the rows the new versions replace). `python -m pipelines.survey
org.yml` loads on its own and logs the summary (accepted, quarantined by reason, skipped files).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import logging
import re
import statistics
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from pipelines.orgconfig import OrgConfig, SurveyQuestion, load_org_config
from pipelines.privacy import Pseudonymiser
from pipelines.settings import make_pipeline

log = logging.getLogger("flowmart.survey")

SOURCE_NAME = "survey"
SUPPORTED_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx"}
DELIMITERS = [",", ";", "\t", "|"]
SCALE_RANGES = {"likert_1_5": (1, 5), "scale_0_10": (0, 10), "yes_no": (0, 1)}
QUARANTINE_REASONS = (
    "missing_respondent",
    "missing_team",
    "unknown_team",
    "unknown_question",
    "non_numeric",
    "out_of_scale",
    "invalid_submitted_at",
    "malformed_row",
    "duplicate_submission",
    "duplicate_answer",
)
ROLE_ALIASES = {
    "respondent": {
        "respondent", "respondent_id", "respondent_email", "email", "email_address", "e_mail",
        "user", "user_id", "user_email", "employee_id", "participant", "participant_id",
    },
    "submitted_at": {
        "submitted_at", "submitted", "submission_date", "submission_time", "submitted_on", "timestamp",
        "date_submitted", "completed_at", "completion_time", "end_date", "response_date", "date",
    },
    "team": {"team", "team_name", "squad"},
    "wave": {"wave", "survey_wave"},
    "question_id": {"question_id", "question", "question_code"},
    "value": {"value", "answer", "response", "score"},
}
FREE_TEXT_PREFIXES = ("comment", "free_text", "freetext")
YES_NO = {"yes": 1, "y": 1, "true": 1, "1": 1, "no": 0, "n": 0, "false": 0, "0": 0}
LIKERT_LABELS = {
    "strongly disagree": 1, "disagree": 2, "neutral": 3, "neither agree nor disagree": 3,
    "agree": 4, "strongly agree": 5,
}
QUARANTINE_VALUE_MAX = 60

RESPONSE_COLUMNS = {
    "respondent_id": {"data_type": "text", "nullable": False},
    "wave": {"data_type": "text", "nullable": False},
    "team": {"data_type": "text", "nullable": False},
    "question_id": {"data_type": "text", "nullable": False},
    "value": {"data_type": "bigint", "nullable": False},
    "submitted_at": {"data_type": "timestamp", "nullable": True},
    "source_file": {"data_type": "text", "nullable": False},
    "source_row": {"data_type": "bigint", "nullable": False},
    "source_column": {"data_type": "text", "nullable": False},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}
QUARANTINE_COLUMNS = {
    "source_file": {"data_type": "text", "nullable": False},
    "source_row": {"data_type": "bigint", "nullable": False},
    "source_column": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "detail": {"data_type": "text", "nullable": False},
    "value": {"data_type": "text", "nullable": True},
    "respondent_id": {"data_type": "text", "nullable": True},
    "wave": {"data_type": "text", "nullable": True},
    "team": {"data_type": "text", "nullable": True},
    "question_id": {"data_type": "text", "nullable": True},
    "submitted_at": {"data_type": "timestamp", "nullable": True},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}
FREE_TEXT_COLUMNS = {
    "source_file": {"data_type": "text", "nullable": False},
    "source_row": {"data_type": "bigint", "nullable": False},
    "source_column": {"data_type": "text", "nullable": False},
    "respondent_id": {"data_type": "text", "nullable": True},
    "wave": {"data_type": "text", "nullable": True},
    "team": {"data_type": "text", "nullable": True},
    "submitted_at": {"data_type": "timestamp", "nullable": True},
    "answer_text": {"data_type": "text", "nullable": False},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}
FILE_COLUMNS = {
    "source_file": {"data_type": "text", "nullable": False},
    "content_hash": {"data_type": "text", "nullable": False},
    "file_format": {"data_type": "text", "nullable": False},
    "shape": {"data_type": "text", "nullable": False},
    "waves": {"data_type": "text", "nullable": True},
    "rows_read": {"data_type": "bigint", "nullable": False},
    "values_accepted": {"data_type": "bigint", "nullable": False},
    "values_quarantined": {"data_type": "bigint", "nullable": False},
    "free_text_loaded": {"data_type": "bigint", "nullable": False},
    "free_text_skipped": {"data_type": "bigint", "nullable": False},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}
QUESTION_COLUMNS = {
    "question_id": {"data_type": "text", "nullable": False},
    "question_text": {"data_type": "text", "nullable": False},
    "dimension": {"data_type": "text", "nullable": False},
    "scale": {"data_type": "text", "nullable": False},
    "scale_min": {"data_type": "bigint", "nullable": False},
    "scale_max": {"data_type": "bigint", "nullable": False},
    "reverse_scored": {"data_type": "bool", "nullable": False},
}
# tables whose rows belong to one source file (replaced when the file changes)
FILE_TABLES = ("responses", "quarantine", "free_text_answers")


class SurveyFileError(ValueError):
    """A survey file that cannot be read as a whole (format, encoding, header, wave); names the file."""


# --- reading files -------------------------------------------------------------------------------


@dataclass
class RawTable:
    header: list[Any]
    rows: list[tuple[int, list[Any]]]  # (row number in the file, header = 1; cells)
    file_format: str


def _norm(text: Any) -> str:
    return re.sub(r"[\s\-_.:/]+", "_", str(text or "").strip().lower()).strip("_")


def _norm_text(text: Any) -> str:
    return " ".join(str(text or "").replace("\u00a0", " ").split()).casefold()


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SurveyFileError(f"{name}: not UTF-8 text (byte {exc.start}); export the survey as UTF-8 CSV") from None


def read_csv(data: bytes, name: str, delimiter: str | None = None) -> RawTable:
    text = _decode(data, name)
    if not text.strip():
        raise SurveyFileError(f"{name}: the file is empty")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    if delimiter is None:
        counts = {d: first_line.count(d) for d in DELIMITERS}
        delimiter = max(DELIMITERS, key=lambda d: counts[d])
        if counts[delimiter] == 0:
            raise SurveyFileError(
                f"{name}: cannot tell the delimiter from the header line {first_line[:80]!r} "
                "(expected , ; tab or |)"
            )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise SurveyFileError(f"{name}: not valid CSV near record {reader.line_num}: {exc}") from None
    while records and not any(c.strip() for c in records[0]):
        records.pop(0)
    if not records:
        raise SurveyFileError(f"{name}: the file has no header row")
    header, body = records[0], records[1:]
    return RawTable(header=header, rows=[(i, r) for i, r in enumerate(body, start=2)], file_format="csv")


def read_xlsx(data: bytes, name: str) -> RawTable:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SurveyFileError(f"{name}: not a readable XLSX workbook ({exc})") from None
    try:
        if not book.worksheets:
            raise SurveyFileError(f"{name}: the workbook has no worksheet")
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    if not rows or not any(c not in (None, "") for c in rows[0]):
        raise SurveyFileError(f"{name}: the first worksheet has no header in row 1")
    header = ["" if c is None else str(c) for c in rows[0]]
    return RawTable(header=header, rows=[(i, r) for i, r in enumerate(rows[1:], start=2)], file_format="xlsx")


def read_table(path: Path, name: str, data: bytes | None = None) -> RawTable:
    data = path.read_bytes() if data is None else data
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return read_xlsx(data, name)
    if suffix in {".csv", ".tsv", ".txt"}:
        return read_csv(data, name, delimiter="\t" if suffix == ".tsv" else None)
    raise SurveyFileError(f"{name}: unsupported file type {suffix!r} (expected .csv, .tsv, .txt or .xlsx)")


# --- cells ---------------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).strip()


_SLASH_DATE = re.compile(
    r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)


def parse_timestamp(value: Any) -> datetime | None:
    """A submission instant in UTC (naive values are taken as UTC); None when blank; ValueError if bad.

    ISO 8601 (with or without offset), Excel dates, and d/m/y or m/d/y with `/` or `.`: a first part
    above 12 means day first, a second part above 12 month first; ambiguous dates are month first
    (the export format of the common US survey tools)."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        match = _SLASH_DATE.match(text)
        if not match:
            raise ValueError("not a date (expected ISO 8601, d/m/y or m/d/y)") from None
        a, b, year, hour, minute, second, ampm = match.groups()
        a, b, year = int(a), int(b), int(year)
        year += 2000 if year < 100 else 0
        day, month = (a, b) if a > 12 or match.group(0).count(".") >= 2 else (b, a)
        hour_i = int(hour or 0)
        if ampm:
            hour_i = hour_i % 12 + (12 if ampm.lower() == "pm" else 0)
        parsed = datetime(year, month, day, hour_i, int(minute or 0), int(second or 0))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_value(value: Any, scale: str) -> tuple[int | None, str | None, str | None]:
    """(value, None, None) for a valid answer, else (None, reason, detail)."""
    low, high = SCALE_RANGES[scale]
    if isinstance(value, bool):
        number: float = int(value)
    elif isinstance(value, int | float):
        number = value
    else:
        text = str(value).strip()
        key = text.lower()
        if scale == "yes_no" and key in YES_NO:
            return YES_NO[key], None, None
        if scale == "likert_1_5" and _norm_text(text) in LIKERT_LABELS:
            return LIKERT_LABELS[_norm_text(text)], None, None
        if re.fullmatch(r"[+-]?\d+,\d+", text):
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return None, "non_numeric", f"not a number nor a label of the {scale} scale"
        if number != number:  # NaN
            return None, "non_numeric", f"not a number nor a label of the {scale} scale"
    if float(number).is_integer() and low <= number <= high:
        return int(number), None, None
    shown = int(number) if float(number).is_integer() else number
    if not float(number).is_integer():
        return None, "out_of_scale", f"{shown} is not a whole number on the {scale} scale ({low}-{high})"
    return None, "out_of_scale", f"{shown} is outside the {scale} scale ({low}-{high})"


_WAVE_QUARTER = re.compile(r"(?<!\d)(20\d\d)[-_ ]?q([1-4])(?!\d)", re.I)
_WAVE_QUARTER_REV = re.compile(r"(?<![a-z0-9])q([1-4])[-_ ]?(20\d\d)(?!\d)", re.I)
_WAVE_MONTH = re.compile(r"(?<!\d)(20\d\d)[-_](0[1-9]|1[0-2])(?![\d])")


def wave_from_name(name: str) -> str | None:
    """`2025-Q3`, `2025_q3`, `2025Q3`, `Q3-2025` -> '2025-Q3'; `2025-09` -> '2025-09'; else None."""
    stem = Path(name).stem
    if m := _WAVE_QUARTER.search(stem):
        return f"{m.group(1)}-Q{m.group(2)}"
    if m := _WAVE_QUARTER_REV.search(stem):
        return f"{m.group(2)}-Q{m.group(1)}"
    if m := _WAVE_MONTH.search(stem):
        return f"{m.group(1)}-{m.group(2)}"
    return None


def wave_from_dates(dates: list[datetime]) -> str | None:
    """Year-quarter of the median submission (the lower median for an even count)."""
    if not dates:
        return None
    median = statistics.median_low(sorted(dates))
    return f"{median.year}-Q{(median.month - 1) // 3 + 1}"


def _normalise_wave(text: str) -> str:
    return wave_from_name(text) or text.strip()


# --- validation ----------------------------------------------------------------------------------


@dataclass
class Answer:
    question_id: str
    value: int
    source_row: int
    source_column: str


@dataclass
class Submission:
    """One respondent's answers of one wave from one file (a wide row; a group of long rows)."""

    source_file: str
    order: tuple[int, int]  # (file position in this load, first row); existing rows: (-1, row)
    respondent_id: str
    wave: str
    team: str
    submitted_at: datetime | None
    answers: list[Answer] = field(default_factory=list)

    def rank(self) -> tuple[datetime, tuple[int, int]]:
        return (self.submitted_at or datetime.min.replace(tzinfo=UTC), self.order)


@dataclass
class ParsedFile:
    name: str
    content_hash: str
    file_format: str
    shape: str
    rows_read: int = 0
    submissions: list[Submission] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    free_text: list[dict[str, Any]] = field(default_factory=list)
    free_text_skipped: int = 0


class Catalogue:
    def __init__(self, questions: Iterable[SurveyQuestion]) -> None:
        self.questions = list(questions)
        self.by_id = {q.id.strip().casefold(): q for q in self.questions}
        self.by_text = {_norm_text(q.text): q for q in self.questions}

    def match(self, header: Any) -> SurveyQuestion | None:
        text = str(header or "").strip()
        return self.by_id.get(text.casefold()) or self.by_text.get(_norm_text(text))

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "question_id": q.id,
                "question_text": q.text,
                "dimension": q.dimension,
                "scale": q.scale,
                "scale_min": SCALE_RANGES[q.scale][0],
                "scale_max": SCALE_RANGES[q.scale][1],
                "reverse_scored": q.reverse_scored,
            }
            for q in self.questions
        ]


def _is_free_text(header: Any) -> bool:
    key = _norm(header)
    return key.startswith(FREE_TEXT_PREFIXES)


def _looks_scale_like(value: Any) -> bool:
    text = _cell_text(value).lower()
    return bool(re.fullmatch(r"[+-]?\d+([.,]\d+)?", text)) or text in YES_NO or _norm_text(text) in LIKERT_LABELS


class FileValidator:
    """Turns one RawTable into submissions, quarantine rows and free text of one ParsedFile."""

    def __init__(self, org: OrgConfig, catalogue: Catalogue, pseudonymise: Pseudonymiser, load_free_text: bool):
        self.catalogue = catalogue
        self.pseudonymise = pseudonymise
        self.load_free_text = load_free_text
        self.config_wave = getattr(org.surveys, "wave", None)
        self.teams = {t.name.casefold(): t.name for t in org.teams}
        self.member_team: dict[str, str] = {}
        for team in org.teams:
            for member in team.members:
                member = member.strip()
                self.member_team[member.lower() if "@" in member else member] = team.name

    # - helpers -
    def _quarantine(self, out: ParsedFile, row: int, column: str, reason: str, detail: str, value: Any,
                    *, known_question: bool, **context: Any) -> None:
        shown = None
        if not _blank(value) and (known_question or _looks_scale_like(value)):
            shown = _cell_text(value)[:QUARANTINE_VALUE_MAX]
        elif not _blank(value):
            detail += " (text withheld)"
        out.quarantine.append(
            {
                "source_file": out.name,
                "source_row": row,
                "source_column": column,
                "reason": reason,
                "detail": detail,
                "value": shown,
                "respondent_id": context.get("respondent_id"),
                "wave": context.get("wave"),
                "team": context.get("team"),
                "question_id": context.get("question_id"),
                "submitted_at": context.get("submitted_at"),
            }
        )

    def _team(self, raw: Any, identity: str | None) -> tuple[str | None, str | None, str | None]:
        """(team, reason, detail)."""
        if not _blank(raw):
            name = self.teams.get(str(raw).strip().casefold())
            if name:
                return name, None, None
            return None, "unknown_team", f"team {str(raw).strip()[:40]!r} is not a team of the org config"
        if identity:
            key = identity.lower() if "@" in identity else identity
            if key in self.member_team:
                return self.member_team[key], None, None
        return None, "missing_team", "no team in the file and the respondent is no member of a configured team"

    def _roles(self, header: list[Any], name: str) -> dict[str, int]:
        roles: dict[str, int] = {}
        for i, col in enumerate(header):
            key = _norm(col)
            for role, aliases in ROLE_ALIASES.items():
                if key in aliases and role not in roles and not self.catalogue.match(col):
                    roles[role] = i
        return roles

    # - main -
    def validate(self, table: RawTable, name: str, content_hash: str, position: int) -> ParsedFile:
        roles = self._roles(table.header, name)
        long_shape = "question_id" in roles and "value" in roles
        out = ParsedFile(name, content_hash, table.file_format, "long" if long_shape else "wide")
        if "respondent" not in roles:
            raise SurveyFileError(
                f"{name}: no respondent column (expected one of: "
                f"{', '.join(sorted(ROLE_ALIASES['respondent']))}); header: {[str(h) for h in table.header][:12]}"
            )
        headers: list[str] = []
        for i, h in enumerate(table.header):  # unique column names: they key the quarantine rows
            text = str(h).strip() if not _blank(h) else f"(column {i + 1})"
            headers.append(text if text not in headers else f"{text} (column {i + 1})")
        if long_shape:
            ignored = [headers[i] for i in range(len(headers)) if i not in roles.values()]
            if ignored:
                log.info("survey file %s (long shape): columns not read: %s", name, ", ".join(ignored))
        width = len(headers)

        # pass 1: the row context (respondent, team, date, wave cell)
        contexts = []
        for row_no, cells in table.rows:
            if all(_blank(c) for c in cells):
                continue
            out.rows_read += 1
            cells = list(cells) + [None] * (width - len(cells))
            ctx: dict[str, Any] = {"row": row_no, "cells": cells}
            identity = None if _blank(cells[roles["respondent"]]) else _cell_text(cells[roles["respondent"]])
            ctx["respondent_id"] = self.pseudonymise(identity) if identity else None
            team_raw = cells[roles["team"]] if "team" in roles else None
            ctx["team"], ctx["team_reason"], ctx["team_detail"] = self._team(team_raw, identity)
            ctx["team_shown"] = ctx["team"] or (None if _blank(team_raw) else _cell_text(team_raw)[:40])
            ctx["submitted_at"] = None
            if "submitted_at" in roles:
                raw_date = cells[roles["submitted_at"]]
                try:
                    ctx["submitted_at"] = parse_timestamp(raw_date)
                except (ValueError, OverflowError) as exc:
                    ctx["bad_date"] = (raw_date, str(exc))
            ctx["wave_cell"] = (
                None if "wave" not in roles or _blank(cells[roles["wave"]]) else _cell_text(cells[roles["wave"]])
            )
            for extra in range(width, len(cells)):
                if not _blank(cells[extra]):
                    ctx.setdefault("extra", []).append(extra)
            contexts.append(ctx)

        file_wave = self.config_wave or None
        if not file_wave and any(c["wave_cell"] is None for c in contexts):
            file_wave = wave_from_name(name) or wave_from_dates(
                [c["submitted_at"] for c in contexts if c["submitted_at"]]
            )
            if not file_wave:
                raise SurveyFileError(
                    f"{name}: cannot tell the survey wave: set surveys.wave in the org config, add a wave "
                    "column, name the file after the wave (e.g. devex-2025-Q3.csv) or give submission dates"
                )

        # pass 2: answers
        question_of_column = {}
        seen_questions: dict[str, int] = {}
        if not long_shape:
            # in the wide shape only these are row context; any other column is an answer column
            role_columns = {roles[r] for r in ("respondent", "submitted_at", "team", "wave") if r in roles}
            for i, col in enumerate(table.header):
                if i in role_columns:
                    continue
                question = self.catalogue.match(col)
                if question is not None and question.id in seen_questions:
                    question_of_column[i] = ("duplicate", question)
                elif question is not None:
                    seen_questions[question.id] = i
                    question_of_column[i] = ("question", question)
                elif _is_free_text(col):
                    question_of_column[i] = ("free_text", None)
                else:
                    question_of_column[i] = ("unknown", None)

        submissions: dict[tuple[str, str, Any], Submission] = {}
        for ctx in contexts:
            wave = self.config_wave or (_normalise_wave(ctx["wave_cell"]) if ctx["wave_cell"] else file_wave)
            base = {
                "respondent_id": ctx["respondent_id"],
                "wave": wave,
                "team": ctx["team_shown"],
                "submitted_at": ctx["submitted_at"],
            }
            row, cells = ctx["row"], ctx["cells"]
            if "bad_date" in ctx:
                raw_date, why = ctx["bad_date"]
                self._quarantine(
                    out, row, headers[roles["submitted_at"]], "invalid_submitted_at",
                    f"{why}; the answers land without a submission date", raw_date, known_question=True, **base,
                )
            for extra in ctx.get("extra", []):
                self._quarantine(
                    out, row, f"(column {extra + 1})", "malformed_row",
                    f"cell beyond the {width} header columns", cells[extra], known_question=False, **base,
                )
            if ctx["respondent_id"] is None:
                row_problem = ("missing_respondent", "the respondent cell is empty")
            elif ctx["team"] is None:
                row_problem = (ctx["team_reason"], ctx["team_detail"])
            else:
                row_problem = None

            if long_shape:
                items = [(roles["value"], cells[roles["question_id"]], cells[roles["value"]])]
            else:
                items = [(i, table.header[i], cells[i]) for i in question_of_column]
            answered = False
            for col_index, question_ref, raw in items:
                if long_shape:
                    question = self.catalogue.match(question_ref)
                    kind = "question" if question else ("free_text" if _is_free_text(question_ref) else "unknown")
                    column = headers[col_index]
                    if _blank(question_ref) and _blank(raw):
                        continue
                else:
                    kind, question = question_of_column[col_index]
                    column = headers[col_index]
                if _blank(raw):
                    continue
                answered = True
                ctx_q = base | {"question_id": question.id if question else None}
                if kind == "free_text":
                    if self.load_free_text:
                        out.free_text.append(
                            {
                                "source_file": name,
                                "source_row": row,
                                "source_column": column if not long_shape else _cell_text(question_ref),
                                "respondent_id": ctx["respondent_id"],
                                "wave": wave,
                                "team": ctx["team_shown"],
                                "submitted_at": ctx["submitted_at"],
                                "answer_text": str(raw),
                            }
                        )
                    else:
                        out.free_text_skipped += 1
                    continue
                if row_problem:
                    self._quarantine(out, row, column, *row_problem, raw, known_question=question is not None, **ctx_q)
                    continue
                if kind == "unknown":
                    what = _cell_text(question_ref)[:60] if long_shape else column[:60]
                    self._quarantine(
                        out, row, column, "unknown_question",
                        f"question {what!r} is not in the survey catalogue", raw, known_question=False, **ctx_q,
                    )
                    continue
                if kind == "duplicate":
                    self._quarantine(
                        out, row, column, "duplicate_answer",
                        f"a second column for question {question.id!r} (column "
                        f"{headers[seen_questions[question.id]]!r} wins)", raw, known_question=True, **ctx_q,
                    )
                    continue
                value, reason, detail = parse_value(raw, question.scale)
                if reason:
                    self._quarantine(out, row, column, reason, f"{question.id}: {detail}", raw,
                                     known_question=True, **ctx_q)
                    continue
                key = (ctx["respondent_id"], wave, ctx["submitted_at"]) if long_shape else (row,)
                sub = submissions.get(key)
                if sub is None:
                    sub = submissions[key] = Submission(
                        name, (position, row), ctx["respondent_id"], wave, ctx["team"], ctx["submitted_at"]
                    )
                sub.answers.append(Answer(question.id, value, row, column))
            if not answered and row_problem:
                # a row with no answer but a problem is still reported, never silently skipped
                # (the respondent cell itself is never copied: it holds an identity)
                if row_problem[0] != "missing_respondent" and "team" in roles:
                    col, shown_cell = roles["team"], cells[roles["team"]]
                else:
                    col, shown_cell = roles["respondent"], None
                self._quarantine(out, row, headers[col], *row_problem, shown_cell, known_question=True, **base)
        out.submissions = list(submissions.values())
        return out


# --- duplicates ----------------------------------------------------------------------------------


def _answer_quarantine(sub: Submission, answer: Answer, detail: str, reason: str) -> dict[str, Any]:
    return {
        "source_file": sub.source_file,
        "source_row": answer.source_row,
        "source_column": answer.source_column,
        "reason": reason,
        "detail": detail,
        "value": str(answer.value),
        "respondent_id": sub.respondent_id,
        "wave": sub.wave,
        "team": sub.team,
        "question_id": answer.question_id,
        "submitted_at": sub.submitted_at,
    }


def resolve_duplicates(
    incoming: list[Submission], existing: list[Submission]
) -> tuple[list[Submission], list[dict[str, Any]], list[Submission]]:
    """Keep one submission per respondent and wave: the latest wins (ties: the one read last).

    Returns (winning incoming submissions, quarantine rows, existing submissions to delete)."""
    groups: dict[tuple[str, str], list[Submission]] = defaultdict(list)
    for sub in existing + incoming:
        groups[(sub.respondent_id, sub.wave)].append(sub)
    winners: list[Submission] = []
    quarantine: list[dict[str, Any]] = []
    superseded: list[Submission] = []
    for subs in groups.values():
        subs.sort(key=Submission.rank)
        winner = subs[-1]
        for loser in subs[:-1]:
            where = f"{winner.source_file} row {winner.order[1]}"
            when = f" submitted {winner.submitted_at:%Y-%m-%d %H:%M}" if winner.submitted_at else ""
            for answer in loser.answers:
                quarantine.append(
                    _answer_quarantine(
                        loser, answer, f"superseded by a later submission of the respondent in wave "
                        f"{winner.wave}: {where}{when}", "duplicate_submission",
                    )
                )
            if loser.order[0] < 0:
                superseded.append(loser)
        if winner.order[0] >= 0:
            # within one submission (long shape) a question answered twice: the last row wins
            last: dict[str, Answer] = {}
            for answer in winner.answers:
                if answer.question_id in last:
                    earlier = last[answer.question_id]
                    quarantine.append(
                        _answer_quarantine(
                            winner, earlier, f"{answer.question_id} answered again in row {answer.source_row}",
                            "duplicate_answer",
                        )
                    )
                last[answer.question_id] = answer
            winner.answers = list(last.values())
            winners.append(winner)
    return winners, quarantine, superseded


# --- the load ------------------------------------------------------------------------------------


@dataclass
class SurveyFile:
    path: Path
    name: str


def discover_files(org: OrgConfig, org_dir: Path) -> list[SurveyFile]:
    """Every survey file of the config: the folder's supported files and the listed files, by name."""
    surveys = org.surveys
    org_dir = Path(org_dir)
    folder = (org_dir / surveys.folder).resolve() if getattr(surveys, "folder", None) else None
    found: dict[str, SurveyFile] = {}

    def name_of(path: Path) -> str:
        base = folder if folder and path.is_relative_to(folder) else org_dir.resolve()
        return path.relative_to(base).as_posix() if path.is_relative_to(base) else path.as_posix()

    if folder is not None:
        if not folder.is_dir():
            raise SurveyFileError(f"surveys.folder {surveys.folder!r}: no such folder under {org_dir}")
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if not path.is_file() or any(p.startswith((".", "~$")) for p in rel.parts):
                continue
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found[name_of(path)] = SurveyFile(path, name_of(path))
            else:
                log.info("survey folder: ignoring %s (not .csv, .tsv, .txt or .xlsx)", rel.as_posix())
    for listed in getattr(surveys, "files", []) or []:
        path = (org_dir / listed).resolve()
        if not path.is_file():
            raise SurveyFileError(f"surveys.files: {listed!r} does not exist under {org_dir}")
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise SurveyFileError(f"surveys.files: {listed!r} is not a .csv, .tsv, .txt or .xlsx file")
        found.setdefault(name_of(path), SurveyFile(path, name_of(path)))
    return sorted(found.values(), key=lambda f: f.name)


def _query(pipeline: dlt.Pipeline, sql: str, *args: Any) -> list[tuple]:
    """Rows of a query on the destination; [] when the dataset or table does not exist yet."""
    try:
        with pipeline.sql_client() as client:
            table = re.search(r"\{(\w+)\}", sql)
            if table:
                sql = sql.replace(table.group(0), client.make_qualified_table_name(table.group(1)))
            return list(client.execute_sql(sql, *args) or [])
    except DatabaseUndefinedRelation:
        return []


@dataclass
class SurveyBatch:
    """Everything one load lands, computed before anything is written."""

    catalogue: Catalogue
    load_free_text: bool
    loaded_at: datetime
    files: list[ParsedFile] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[Submission] = field(default_factory=list)

    @property
    def changed_names(self) -> list[str]:
        return [f.name for f in self.files]


def prepare(org: OrgConfig, org_dir: Path, pipeline: dlt.Pipeline, reload_all: bool | None = None) -> SurveyBatch:
    """Read and validate the new or changed files; raise SurveyFileError before anything lands."""
    if reload_all is None:
        reload_all = bool(dlt.config.get("sources.survey.reload_all", bool) or False)
    catalogue = Catalogue(org.surveys.questions)
    load_free_text = bool(getattr(org.surveys, "load_free_text", False))
    batch = SurveyBatch(catalogue, load_free_text, datetime.now(UTC))
    files = discover_files(org, org_dir)
    known = {} if reload_all else dict(_query(pipeline, "select source_file, content_hash from {files}"))
    validator = FileValidator(org, catalogue, Pseudonymiser(), load_free_text)
    errors: list[str] = []
    for position, survey_file in enumerate(files):
        data = survey_file.path.read_bytes()
        content_hash = hashlib.sha256(data).hexdigest()
        if known.get(survey_file.name) == content_hash:
            batch.unchanged.append(survey_file.name)
            log.info("survey file %s: unchanged since its last load, skipped", survey_file.name)
            continue
        try:
            table = read_table(survey_file.path, survey_file.name, data)
            parsed = validator.validate(table, survey_file.name, content_hash, position)
        except SurveyFileError as exc:
            errors.append(str(exc))
            continue
        batch.files.append(parsed)
    if errors:
        raise SurveyFileError("survey load aborted, nothing landed:\n  " + "\n  ".join(errors))

    incoming = [s for f in batch.files for s in f.submissions]
    waves = sorted({s.wave for s in incoming})
    existing: list[Submission] = []
    if incoming:
        placeholders = ", ".join(["%s"] * len(waves))
        exclude = batch.changed_names
        rows = _query(
            pipeline,
            "select respondent_id, wave, team, submitted_at, source_file, source_row, source_column, "
            f"question_id, value from {{responses}} where wave in ({placeholders}) "
            f"and source_file not in ({', '.join(['%s'] * len(exclude))})",
            *waves, *exclude,
        )
        by_sub: dict[tuple, Submission] = {}
        for respondent, wave, team, submitted, source_file, row, column, question, value in rows:
            if isinstance(submitted, datetime) and submitted.tzinfo is None:
                submitted = submitted.replace(tzinfo=UTC)
            key = (respondent, wave, source_file)
            sub = by_sub.get(key)
            if sub is None:
                sub = by_sub[key] = Submission(source_file, (-1, row), respondent, wave, team, submitted)
            sub.answers.append(Answer(question, value, row, column))
        existing = list(by_sub.values())
    winners, dup_quarantine, batch.superseded = resolve_duplicates(incoming, existing)
    by_file = {f.name: f for f in batch.files}
    for row in dup_quarantine:
        if row["source_file"] in by_file:
            by_file[row["source_file"]].quarantine.append(row)
        else:
            batch.quarantine.append(row)  # rows of an earlier load that lost to a newer submission
    for sub in winners:
        for answer in sub.answers:
            batch.responses.append(
                {
                    "respondent_id": sub.respondent_id,
                    "wave": sub.wave,
                    "team": sub.team,
                    "question_id": answer.question_id,
                    "value": answer.value,
                    "submitted_at": sub.submitted_at,
                    "source_file": sub.source_file,
                    "source_row": answer.source_row,
                    "source_column": answer.source_column,
                }
            )
    for parsed in batch.files:
        batch.quarantine.extend(parsed.quarantine)
    return batch


def _stamp(rows: Iterable[dict[str, Any]], loaded_at: datetime) -> Iterator[Any]:
    yield dlt.mark.materialize_table_schema()
    for row in rows:
        yield row | {"loaded_at": loaded_at}


def _file_rows(batch: SurveyBatch) -> Iterator[dict[str, Any]]:
    accepted = Counter(r["source_file"] for r in batch.responses)
    quarantined = Counter(r["source_file"] for r in batch.quarantine)
    for parsed in batch.files:
        yield {
            "source_file": parsed.name,
            "content_hash": parsed.content_hash,
            "file_format": parsed.file_format,
            "shape": parsed.shape,
            "waves": ",".join(sorted({s.wave for s in parsed.submissions})) or None,
            "rows_read": parsed.rows_read,
            "values_accepted": accepted[parsed.name],
            "values_quarantined": quarantined[parsed.name],
            "free_text_loaded": len(parsed.free_text),
            "free_text_skipped": parsed.free_text_skipped,
            "loaded_at": batch.loaded_at,
        }


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def survey_source(batch: SurveyBatch | None = None) -> list[Any]:
    """The survey tables of one prepared batch (an empty batch declares the resources, for Dagster)."""
    if batch is None:
        batch = SurveyBatch(Catalogue([]), False, datetime.now(UTC))
    file_key = ["source_file", "source_row", "source_column"]
    resources = [
        dlt.resource(
            _stamp(batch.responses, batch.loaded_at), name="responses", columns=RESPONSE_COLUMNS,
            primary_key=["source_file", "respondent_id", "wave", "question_id"], write_disposition="merge",
        ),
        dlt.resource(
            _stamp(batch.quarantine, batch.loaded_at), name="quarantine", columns=QUARANTINE_COLUMNS,
            primary_key=file_key, write_disposition="merge",
        ),
        dlt.resource(
            _file_rows(batch), name="files", columns=FILE_COLUMNS, primary_key=["source_file"],
            write_disposition="merge",
        ),
        dlt.resource(
            batch.catalogue.rows(), name="questions", columns=QUESTION_COLUMNS, primary_key=["question_id"],
            write_disposition="replace",
        ),
    ]
    if batch.load_free_text:
        resources.append(
            dlt.resource(
                _stamp([r for f in batch.files for r in f.free_text], batch.loaded_at),
                # append, not merge: a merge would leave a copy of the text in the staging dataset
                # (raw_survey_staging); re-loads stay exact because finish() drops the earlier rows
                name="free_text_answers", columns=FREE_TEXT_COLUMNS, write_disposition="append",
            )
        )
    return resources


def finish(pipeline: dlt.Pipeline, batch: SurveyBatch, load_ids: list[str] | None = None) -> dict[str, int]:
    """After a successful run: drop what the changed files' earlier versions landed and the rows of
    earlier loads that lost to a newer submission. Returns rows deleted per table.

    `load_ids` default to those of the pipeline's last run (e.g. after a Dagster `dlt.run`)."""
    deleted: dict[str, int] = {}
    if load_ids is None:
        trace = pipeline.last_trace
        load_ids = list(trace.last_load_info.loads_ids) if trace and trace.last_load_info else []
    if not load_ids or not (batch.files or batch.superseded):
        return deleted
    load_id = load_ids[-1]
    with pipeline.sql_client() as client:
        for table in FILE_TABLES:
            qualified = client.make_qualified_table_name(table)
            try:
                for name in batch.changed_names:
                    before = client.execute_sql(
                        f"select count(*) from {qualified} where source_file = %s and _dlt_load_id <> %s",
                        name, load_id,
                    )[0][0]
                    if before:
                        client.execute_sql(
                            f"delete from {qualified} where source_file = %s and _dlt_load_id <> %s", name, load_id
                        )
                        deleted[table] = deleted.get(table, 0) + before
            except DatabaseUndefinedRelation:
                continue
        qualified = client.make_qualified_table_name("responses")
        for sub in batch.superseded:
            client.execute_sql(
                f"delete from {qualified} where source_file = %s and respondent_id = %s and wave = %s "
                "and _dlt_load_id <> %s",
                sub.source_file, sub.respondent_id, sub.wave, load_id,
            )
            deleted["responses"] = deleted.get("responses", 0) + len(sub.answers)
    return deleted


def load(org: OrgConfig, org_dir: Path, target: str | None = None) -> dict[str, int]:
    """Load new and changed survey files; returns rows landed per table (unchanged files land nothing)."""
    pipeline = make_pipeline(SOURCE_NAME, target)
    batch = prepare(org, Path(org_dir), pipeline)
    info = pipeline.run(survey_source(batch))
    info.raise_on_failed_jobs()
    deleted = finish(pipeline, batch, list(info.loads_ids))
    counts = {
        "responses": len(batch.responses),
        "quarantine": len(batch.quarantine),
        "files": len(batch.files),
        "questions": len(batch.catalogue.questions),
    }
    if batch.load_free_text:
        counts["free_text_answers"] = sum(len(f.free_text) for f in batch.files)
    reasons = Counter(r["reason"] for r in batch.quarantine)
    log.info(
        "survey load: %d file(s) loaded, %d unchanged and skipped; accepted %d values, quarantined %d%s; "
        "free text %s; rows of earlier file versions removed: %s",
        len(batch.files), len(batch.unchanged), counts["responses"], counts["quarantine"],
        f" ({', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))})" if reasons else "",
        f"{counts.get('free_text_answers', 0)} loaded" if batch.load_free_text
        else f"{sum(f.free_text_skipped for f in batch.files)} skipped (surveys.load_free_text is false)",
        deleted or "none",
    )
    for parsed in batch.files:
        log.info(
            "survey file %s (%s, %s shape): %d rows, %d values accepted, %d quarantined",
            parsed.name, parsed.file_format, parsed.shape, parsed.rows_read,
            sum(1 for r in batch.responses if r["source_file"] == parsed.name),
            sum(1 for r in batch.quarantine if r["source_file"] == parsed.name),
        )
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Load developer-experience survey exports into raw_survey.")
    parser.add_argument("org_config", nargs="?", default="org.yml", help="the org config file (default org.yml)")
    parser.add_argument("--target", choices=["duckdb", "postgres"], default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    path = Path(args.org_config)
    counts = load(load_org_config(path), path.resolve().parent, args.target)
    print(counts)


if __name__ == "__main__":
    main()
