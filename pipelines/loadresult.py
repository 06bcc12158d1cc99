"""What a loader's `load()` returns: rows landed per table, plus the inputs it skipped.

Per-input isolation: a loader that can land its other inputs without one of them (a survey file it
cannot read, a GitHub repository that answers 404 or 403) skips that input, lands the rest and names
the skipped input in `skipped`, one line each. The run reports them in its summary and exits with
`EXIT_SKIPPED` (see orchestration/cli.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class LoadCounts(dict):
    """Rows landed per table (a plain dict to its callers), `skipped`: one line per skipped input, and `note`."""

    def __init__(self, counts: Mapping[str, int] | None = None, skipped: Iterable[str] = (), note: str = "") -> None:
        super().__init__(counts or {})
        self.skipped: list[str] = list(skipped)
        self.note = note  # one line for the run's "loaded <source>" line (GitHub: rate-limit budget spent)


def skipped_inputs(counts: object) -> list[str]:
    """The skipped inputs a loader's result names ([] for a plain dict)."""
    return list(getattr(counts, "skipped", []) or [])
