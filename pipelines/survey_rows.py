"""Survey rows: reading cells and answers on their scale, telling the wave, validating one file's rows
against the question catalogue and the org config's teams, and keeping one submission per respondent
and wave.

Every rejected value is quarantined, never dropped, and the quarantine is bounded: one row stands for
the largest unit rejected as a whole, with `value_count` saying how many values it holds:
- a file that cannot be read (`invalid_file`): source_row 0, source_column `(file)`, no count;
- a column (`unknown_question`, or a second column for one question: `duplicate_answer`): source_row 1
  (the header row), the column's header; in the long shape, one row per unknown question id, at its
  first row;
- a row (`missing_respondent`, `missing_team`, `unknown_team`, `duplicate_submission`): source_column
  `(row)`; `malformed_row`: the row's cells beyond the header, at the first such column;
- a single value (`non_numeric`, `out_of_scale`, `invalid_submitted_at`, `formula_without_value`, a
  question answered twice in one long-shape submission: `duplicate_answer`): its row and column, count 1.
"""

from __future__ import annotations

import logging
import pickle
import re
import statistics
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipelines.orgconfig import OrgConfig, SurveyQuestion
from pipelines.privacy import Pseudonymiser
from pipelines.survey_files import RawTable, SurveyFileError, Uncomputed

log = logging.getLogger("flowmart.survey")

SCALE_RANGES = {"likert_1_5": (1, 5), "scale_0_10": (0, 10), "yes_no": (0, 1)}
QUARANTINE_REASONS = (
    "invalid_file",
    "missing_respondent",
    "missing_team",
    "unknown_team",
    "unknown_question",
    "non_numeric",
    "out_of_scale",
    "invalid_submitted_at",
    "malformed_row",
    "formula_without_value",
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


def _norm(text: Any) -> str:
    return re.sub(r"[\s\-_.:/]+", "_", str(text or "").strip().lower()).strip("_")


def _norm_text(text: Any) -> str:
    return " ".join(str(text or "").replace("\u00a0", " ").split()).casefold()



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

AnswerTuple = tuple[str, int, int, str]  # (question_id, value, source_row, source_column)


@dataclass(slots=True)
class Submission:
    """One respondent's answers of one wave from one file (a wide row; a group of long rows). The answers
    themselves wait in the load's `AnswerSpill` (`spill_id`); `rows` counts them per row of the file."""

    source_file: str
    order: tuple[int, int]  # (file position in this load, first row); existing rows: (-1, row)
    respondent_id: str
    wave: str
    team: str
    submitted_at: datetime | None
    rows: tuple[tuple[int, int], ...] = ()  # (row, answers) pairs, by row
    spill_id: int = -1  # -1: landed by an earlier load
    pending: dict[str, AnswerTuple] | None = None  # long shape, while the file is read: question -> answer

    def rank(self) -> tuple[datetime, tuple[int, int]]:
        return (self.submitted_at or datetime.min.replace(tzinfo=UTC), self.order)

    @property
    def answer_count(self) -> int:
        return sum(count for _row, count in self.rows)


class AnswerSpill:
    """The accepted answers of one load, parked in a temporary file (pickled in batches) until dlt reads
    them: memory holds one batch, not the export."""

    BATCH = 2000

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="flowmart-survey-")
        self._pending: list[tuple[int, list[AnswerTuple]]] = []
        self._next = 0

    def write(self, answers: list[AnswerTuple]) -> int:
        spill_id = self._next
        self._next += 1
        self._pending.append((spill_id, answers))
        if len(self._pending) >= self.BATCH:
            self._flush()
        return spill_id

    def _flush(self) -> None:
        if self._pending:
            self._file.seek(0, 2)
            pickle.dump(self._pending, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._pending = []

    def read(self) -> Iterator[tuple[int, list[AnswerTuple]]]:
        self._flush()
        self._file.seek(0)
        while True:
            try:
                batch = pickle.load(self._file)  # noqa: S301 - our own temporary file
            except EOFError:
                return
            yield from batch

    def close(self) -> None:
        self._file.close()


class Quarantine:
    """Quarantine rows of one load, one per (file, row, column); adding to a key that exists (or to a
    `group`: a rejected column, an unknown long-shape question) adds to its `value_count`."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int, str], dict[str, Any]] = {}
        self._groups: dict[Any, tuple[str, int, str]] = {}

    def add(self, source_file: str, row: int, column: str, reason: str, detail: str, value: str | None,
            count: int | None = 1, group: Any = None, **context: Any) -> None:
        key = self._groups.get(group) if group is not None else None
        key = key or (source_file, row, column)
        existing = self.rows.get(key)
        if existing is not None:
            if count is not None:
                existing["value_count"] = (existing["value_count"] or 0) + count
            if existing["reason"] != reason and f"also {reason}" not in existing["detail"]:
                existing["detail"] = f"{existing['detail']}; also {reason}: {detail}"[:1000]
            return
        if group is not None:
            self._groups[group] = key
        self.rows[key] = {
            "source_file": key[0], "source_row": key[1], "source_column": key[2], "reason": reason,
            "detail": detail, "value": value, "value_count": count,
            "respondent_id": context.get("respondent_id"), "wave": context.get("wave"),
            "team": context.get("team"), "question_id": context.get("question_id"),
            "submitted_at": context.get("submitted_at"),
        }

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.add(row["source_file"], row["source_row"], row["source_column"], row["reason"], row["detail"],
                     row["value"], row["value_count"],
                     **{k: row.get(k) for k in ("respondent_id", "wave", "team", "question_id", "submitted_at")})

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows.values())

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class ParsedFile:
    name: str
    content_hash: str
    file_format: str
    shape: str
    rows_read: int = 0
    submissions: list[Submission] = field(default_factory=list)
    quarantine: Quarantine = field(default_factory=Quarantine)
    free_text: list[dict[str, Any]] = field(default_factory=list)
    free_text_skipped: int = 0
    waves: set[str] = field(default_factory=set)


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
    """Turns one RawTable into submissions (their answers go to the spill), quarantine rows and free text
    of one ParsedFile, reading the rows as a stream (twice when the wave must come from the dates)."""

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
    @staticmethod
    def _shown(value: Any, known_question: bool) -> tuple[str | None, str]:
        """(the rejected raw value as quarantine keeps it, a note for the detail when it is withheld)."""
        if _blank(value) or isinstance(value, Uncomputed):
            return None, ""
        if known_question or _looks_scale_like(value):
            return _cell_text(value)[:QUARANTINE_VALUE_MAX], ""
        return None, " (text withheld)"

    def _quarantine(self, out: ParsedFile, row: int, column: str, reason: str, detail: str, value: Any,
                    *, known_question: bool, count: int | None = 1, group: Any = None, **context: Any) -> None:
        shown, note = self._shown(value, known_question)
        out.quarantine.add(out.name, row, column, reason, detail + note, shown, count, group, **context)

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

    def _roles(self, header: list[Any]) -> dict[str, int]:
        roles: dict[str, int] = {}
        for i, col in enumerate(header):
            key = _norm(col)
            for role, aliases in ROLE_ALIASES.items():
                if key in aliases and role not in roles and not self.catalogue.match(col):
                    roles[role] = i
        return roles

    def _file_wave(self, table: RawTable, roles: dict[str, int], name: str) -> str | None:
        """The wave of rows without a wave cell: the config's, the file name's, else the median date's
        (a first pass over the rows); SurveyFileError when a row needs it and none can be told."""
        if self.config_wave:
            return self.config_wave
        if wave := wave_from_name(name):
            return wave
        dates: list[datetime] = []
        needed = False
        for _row, cells in table.rows():
            if all(_blank(c) for c in cells):
                continue
            if "wave" not in roles or roles["wave"] >= len(cells) or _blank(cells[roles["wave"]]):
                needed = True
            if "submitted_at" in roles and roles["submitted_at"] < len(cells):
                try:
                    when = parse_timestamp(cells[roles["submitted_at"]])
                except (ValueError, OverflowError, TypeError):
                    when = None
                if when is not None:
                    dates.append(when)
        wave = wave_from_dates(dates)
        if needed and not wave:
            raise SurveyFileError(
                f"{name}: cannot tell the survey wave: set surveys.wave in the org config, add a wave "
                "column, name the file after the wave (e.g. devex-2025-Q3.csv) or give submission dates"
            )
        return wave

    # - main -
    def validate(self, table: RawTable, name: str, content_hash: str, position: int,
                 spill: AnswerSpill) -> ParsedFile:
        roles = self._roles(table.header)
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
        file_wave = self._file_wave(table, roles, name)

        question_of_column: dict[int, tuple[str, SurveyQuestion | None]] = {}
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

        long_subs: dict[tuple[str, str, Any], Submission] = {}
        for row, cells in table.rows():
            if all(_blank(c) for c in cells):
                continue
            out.rows_read += 1
            cells = list(cells) + [None] * (width - len(cells))
            for i, cell in enumerate(cells):
                if isinstance(cell, Uncomputed):
                    self._quarantine(
                        out, row, headers[i] if i < width else f"(column {i + 1})", "formula_without_value",
                        "a formula cell saved without its computed value: open the workbook, let it calculate, "
                        "save, and export again", None, known_question=True,
                    )
                    cells[i] = None

            identity = None if _blank(cells[roles["respondent"]]) else _cell_text(cells[roles["respondent"]])
            respondent_id = self.pseudonymise(identity) if identity else None
            cache = getattr(self.pseudonymise, "_cache", None)  # a wide export names each identity once
            if isinstance(cache, dict) and len(cache) > 10_000:
                cache.clear()
            team_raw = cells[roles["team"]] if "team" in roles else None
            team, team_reason, team_detail = self._team(team_raw, identity)
            team_shown = team or (None if _blank(team_raw) else _cell_text(team_raw)[:40])
            submitted_at, bad_date = None, None
            if "submitted_at" in roles:
                raw_date = cells[roles["submitted_at"]]
                try:
                    submitted_at = parse_timestamp(raw_date)
                except (ValueError, OverflowError) as exc:
                    bad_date = (raw_date, str(exc))
            wave_raw = cells[roles["wave"]] if "wave" in roles else None
            wave_cell = None if _blank(wave_raw) else _cell_text(wave_raw)
            wave = self.config_wave or (_normalise_wave(wave_cell) if wave_cell else file_wave)
            base = {"respondent_id": respondent_id, "wave": wave, "team": team_shown, "submitted_at": submitted_at}

            if bad_date is not None:
                self._quarantine(
                    out, row, headers[roles["submitted_at"]], "invalid_submitted_at",
                    f"{bad_date[1]}; the answers land without a submission date", bad_date[0], known_question=True,
                    **base,
                )
            extra = [i for i in range(width, len(cells)) if not _blank(cells[i])]
            if extra:
                self._quarantine(
                    out, row, f"(column {extra[0] + 1})", "malformed_row",
                    f"{len(extra)} cell(s) beyond the {width} header columns", cells[extra[0]],
                    known_question=False, count=len(extra), **base,
                )
            if respondent_id is None:
                row_problem = ("missing_respondent", "the respondent cell is empty")
            elif team is None:
                row_problem = (team_reason, team_detail)
            else:
                row_problem = None

            if long_shape:
                items = [(roles["value"], cells[roles["question_id"]], cells[roles["value"]])]
            else:
                items = [(i, table.header[i], cells[i]) for i in question_of_column]
            answers: list[AnswerTuple] = []
            rejected_in_row = 0
            for col_index, question_ref, raw in items:
                column = headers[col_index]
                if long_shape:
                    question = self.catalogue.match(question_ref)
                    kind = "question" if question else ("free_text" if _is_free_text(question_ref) else "unknown")
                else:
                    kind, question = question_of_column[col_index]
                if _blank(raw):
                    continue
                if kind == "free_text":
                    if self.load_free_text:
                        out.free_text.append(
                            {
                                "source_file": name,
                                "source_row": row,
                                "source_column": column if not long_shape else _cell_text(question_ref),
                                "respondent_id": respondent_id,
                                "wave": wave,
                                "team": team_shown,
                                "submitted_at": submitted_at,
                                "answer_text": str(raw),
                            }
                        )
                    else:
                        out.free_text_skipped += 1
                    continue
                if row_problem:
                    rejected_in_row += 1
                    continue
                if kind == "unknown":
                    if long_shape:
                        what = _cell_text(question_ref)[:60]
                        self._quarantine(
                            out, row, column, "unknown_question",
                            f"question {what!r} is not in the survey catalogue (value_count: its answers in the "
                            "file, from this row on)", raw, known_question=False,
                            group=("question", _norm_text(question_ref)),
                        )
                    else:
                        self._quarantine(
                            out, 1, column, "unknown_question",
                            f"column {column[:60]!r} is not a question of the survey catalogue (value_count: its "
                            "answers in the file)", raw, known_question=False, group=("column", col_index),
                        )
                    continue
                if kind == "duplicate":
                    self._quarantine(
                        out, 1, column, "duplicate_answer",
                        f"a second column for question {question.id!r} (column "
                        f"{headers[seen_questions[question.id]]!r} wins; value_count: its answers in the file)",
                        raw, known_question=True, group=("column", col_index), question_id=question.id,
                    )
                    continue
                value, reason, detail = parse_value(raw, question.scale)
                if reason:
                    self._quarantine(out, row, column, reason, f"{question.id}: {detail}", raw, known_question=True,
                                     **base, question_id=question.id)
                    continue
                answers.append((question.id, value, row, column))
            if row_problem:
                # one quarantine row for the whole row, also when it holds no answer (never silently skipped;
                # the respondent cell itself is never copied: it holds an identity)
                shown_cell = team_raw if row_problem[0] == "unknown_team" else None
                self._quarantine(out, row, "(row)", *row_problem, shown_cell, known_question=True,
                                 count=rejected_in_row, **base)
                continue
            if not answers:
                continue
            out.waves.add(wave)
            if long_shape:
                key = (respondent_id, wave, submitted_at)
                sub = long_subs.get(key)
                if sub is None:
                    sub = long_subs[key] = Submission(name, (position, row), respondent_id, wave, team, submitted_at,
                                                      pending={})
                question_id = answers[0][0]
                earlier = sub.pending.get(question_id)
                if earlier is not None:  # a question answered twice in one submission: the last row wins
                    self._quarantine(
                        out, earlier[2], earlier[3], "duplicate_answer",
                        f"{question_id} answered again in row {row}", str(earlier[1]), known_question=True,
                        **base, question_id=question_id,
                    )
                sub.pending[question_id] = answers[0]
            else:
                sub = Submission(name, (position, row), respondent_id, wave, team, submitted_at, ((row, len(answers)),))
                sub.spill_id = spill.write(answers)
                out.submissions.append(sub)
        for sub in long_subs.values():
            kept = list(sub.pending.values())
            sub.pending = None
            per_row: dict[int, int] = {}
            for answer in kept:
                per_row[answer[2]] = per_row.get(answer[2], 0) + 1
            sub.rows = tuple(sorted(per_row.items()))
            sub.spill_id = spill.write(kept)
            out.submissions.append(sub)
        return out


# --- duplicates ----------------------------------------------------------------------------------


def resolve_duplicates(
    incoming: list[Submission], existing: list[Submission]
) -> tuple[list[Submission], list[dict[str, Any]], list[Submission]]:
    """Keep one submission per respondent and wave: the latest wins (ties: the one read last).

    Returns (winning incoming submissions, quarantine rows: one per row of a losing submission, existing
    submissions to delete)."""
    groups: dict[tuple[str, str], Submission | list[Submission]] = {}  # a list only for a duplicate
    for sub in existing + incoming:
        key = (sub.respondent_id, sub.wave)
        held = groups.get(key)
        if held is None:
            groups[key] = sub
        elif isinstance(held, list):
            held.append(sub)
        else:
            groups[key] = [held, sub]
    winners: list[Submission] = []
    quarantine: list[dict[str, Any]] = []
    superseded: list[Submission] = []
    for held in groups.values():
        if not isinstance(held, list):
            if held.spill_id >= 0:
                winners.append(held)
            continue
        subs = sorted(held, key=Submission.rank)
        winner = subs[-1]
        for loser in subs[:-1]:
            where = f"{winner.source_file} row {winner.order[1]}"
            when = f" submitted {winner.submitted_at:%Y-%m-%d %H:%M}" if winner.submitted_at else ""
            for row, count in loser.rows:
                quarantine.append({
                    "source_file": loser.source_file, "source_row": row, "source_column": "(row)",
                    "reason": "duplicate_submission",
                    "detail": f"superseded by a later submission of the respondent in wave {winner.wave}: "
                              f"{where}{when}",
                    "value": None, "value_count": count, "respondent_id": loser.respondent_id, "wave": loser.wave,
                    "team": loser.team, "question_id": None, "submitted_at": loser.submitted_at,
                })
            if loser.spill_id < 0:
                superseded.append(loser)
        if winner.spill_id >= 0:
            winners.append(winner)
    return winners, quarantine, superseded
