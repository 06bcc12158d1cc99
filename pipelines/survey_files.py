"""Survey exports on disk: which files the org config names, their content hash, and their rows, read as
a stream (a large export is never held in memory as a whole).

CSV: UTF-8 with or without BOM (UTF-16 with BOM too), delimiter `,` `;` tab or `|` (the most frequent
one in the header line), quoted fields may hold newlines. XLSX: the first worksheet, header in row 1; a
formula cell saved without its computed value reads as `Uncomputed` (the validator quarantines it).
Row numbers are the file's record numbers, header = row 1 (for XLSX: the sheet's row number).

`SurveyFileError` names a file that cannot be read as a whole; the loader quarantines that file and
loads the others."""

from __future__ import annotations

import codecs
import csv
import hashlib
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.orgconfig import OrgConfig

log = logging.getLogger("flowmart.survey")

SUPPORTED_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx"}
DELIMITERS = [",", ";", "\t", "|"]
CHUNK = 1 << 20


class SurveyFileError(ValueError):
    """A survey file that cannot be read as a whole (format, encoding, header, wave); names the file."""


@dataclass(frozen=True)
class Uncomputed:
    """An XLSX formula cell saved without a cached value (the workbook was never calculated)."""

    def __str__(self) -> str:
        return "(formula without a value)"


UNCOMPUTED = Uncomputed()


@dataclass
class RawTable:
    header: list[Any]
    rows: Callable[[], Iterator[tuple[int, list[Any]]]]  # a fresh pass: (row number, header = 1; cells)
    file_format: str


# --- which files ---------------------------------------------------------------------------------


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


def file_hash(path: Path) -> str:
    """SHA-256 of the file's content, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- CSV -----------------------------------------------------------------------------------------


def _encoding(path: Path, name: str) -> str:
    """utf-16 (with its BOM) or utf-8-sig; the whole file is checked so a bad byte names its offset."""
    with path.open("rb") as f:
        head = f.read(2)
        if head in (b"\xff\xfe", b"\xfe\xff"):
            return "utf-16"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        while chunk := f.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise SurveyFileError(
                    f"{name}: not UTF-8 text (byte {offset + exc.start}); export the survey as UTF-8 CSV"
                ) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise SurveyFileError(f"{name}: not UTF-8 text (it ends mid-character); export the survey as "
                                  "UTF-8 CSV") from None
    return "utf-8-sig"


def read_csv(path: Path, name: str, delimiter: str | None = None) -> RawTable:
    encoding = _encoding(path, name)
    with path.open(encoding=encoding, newline="") as f:
        first_line = ""
        for line in f:
            if line.strip("\r\n"):
                first_line = line.rstrip("\r\n")
                break
        else:
            raise SurveyFileError(f"{name}: the file is empty")
    if not first_line.strip():
        raise SurveyFileError(f"{name}: the file is empty")
    if delimiter is None:
        counts = {d: first_line.count(d) for d in DELIMITERS}
        delimiter = max(DELIMITERS, key=lambda d: counts[d])
        if counts[delimiter] == 0:
            raise SurveyFileError(
                f"{name}: cannot tell the delimiter from the header line {first_line[:80]!r} "
                "(expected , ; tab or |)"
            )

    def records() -> Iterator[list[str]]:
        with path.open(encoding=encoding, newline="") as f:
            reader = csv.reader(f, delimiter=delimiter, strict=True)
            try:
                yield from reader
            except csv.Error as exc:
                raise SurveyFileError(f"{name}: not valid CSV near record {reader.line_num}: {exc}") from None

    header: list[str] | None = None
    for record in records():
        if any(c.strip() for c in record):
            header = record
            break
    if header is None:
        raise SurveyFileError(f"{name}: the file has no header row")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        started = False
        number = 1
        for record in records():
            if not started:
                started = any(c.strip() for c in record)  # the header (blank records before it are skipped)
                continue
            number += 1
            yield number, record

    return RawTable(header=header, rows=rows, file_format="csv")


# --- XLSX ----------------------------------------------------------------------------------------


def _xlsx_rows(path: Path, name: str) -> Iterator[tuple[int, list[Any]]]:
    """(sheet row number, cells) of the first worksheet, streamed; a formula cell without a cached value
    is UNCOMPUTED (openpyxl's own data-only reading makes it None, indistinguishable from a blank)."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                cached = element.find(VALUE_TAG)
                # no <v>, or an empty one on a non-text cell (openpyxl writes `<v />`); an empty text result
                # of a formula (t="str", empty <v>) is a blank
                if cached is None or (not cached.text and element.get("t") != "str"):
                    cell["value"] = UNCOMPUTED
            return cell

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SurveyFileError(f"{name}: not a readable XLSX workbook ({exc})") from None
    try:
        if not book.worksheets:
            raise SurveyFileError(f"{name}: the workbook has no worksheet")
        sheet = book.worksheets[0]
        with sheet._get_source() as src:
            parser = Parser(src, sheet._shared_strings, data_only=True, epoch=book.epoch,
                            date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
            for number, cells in parser.parse():
                row: list[Any] = [None] * max((c["column"] for c in cells), default=0)
                for c in cells:
                    row[c["column"] - 1] = c["value"]
                yield number, row
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SurveyFileError(f"{name}: not a readable XLSX workbook ({exc})") from None
    finally:
        book.close()


def read_xlsx(path: Path, name: str) -> RawTable:
    reading = _xlsx_rows(path, name)
    try:
        first = next(reading, None)
    finally:
        reading.close()
    if first is None or first[0] != 1 or not any(c not in (None, "") for c in first[1]):
        raise SurveyFileError(f"{name}: the first worksheet has no header in row 1")
    header = ["" if c is None else str(c) for c in first[1]]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, cells in _xlsx_rows(path, name):
            if number > 1:
                yield number, cells

    return RawTable(header=header, rows=rows, file_format="xlsx")


def read_table(path: Path, name: str) -> RawTable:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return read_xlsx(path, name)
    if suffix in {".csv", ".tsv", ".txt"}:
        return read_csv(path, name, delimiter="\t" if suffix == ".tsv" else None)
    raise SurveyFileError(f"{name}: unsupported file type {suffix!r} (expected .csv, .tsv, .txt or .xlsx)")


__all__ = [
    "DELIMITERS", "SUPPORTED_SUFFIXES", "UNCOMPUTED", "RawTable", "SurveyFile", "SurveyFileError", "Uncomputed",
    "discover_files", "file_hash", "read_csv", "read_table", "read_xlsx",
]
