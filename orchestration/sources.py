"""The loaders as Dagster sees them: a definition-time source per loader (for asset specs only; it sends
no request and reads no file) and the run environment of a load (the configuration, or the sample behind
its local server). The load itself is `runner.load_source`, as in the CLI."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dlt

from orchestration import runner
from pipelines.orgconfig import OrgConfig, parse_org_config
from pipelines.settings import make_pipeline

EMPTY_ORG = {"value_streams": [], "teams": []}


def _survey_dlt_source(batch: Any = None) -> Any:
    from pipelines import survey

    @dlt.source(name="survey", max_table_nesting=0)
    def survey_tables() -> Any:
        return survey.survey_source(batch)

    return survey_tables()


def definition_source(name: str) -> Any:
    module = runner.loader_module(name)
    if hasattr(module, "definition_source"):
        return module.definition_source()
    if name == "survey":
        return _survey_dlt_source()
    if name in ("git", "delivery"):
        return module.source_from_org(parse_org_config(EMPTY_ORG), Path("."))
    return module.build_source(parse_org_config(EMPTY_ORG), Path("."))


def pipeline(name: str) -> dlt.Pipeline:
    return make_pipeline(name)


@contextlib.contextmanager
def run_environment(wanted: list[str] | None = None) -> Iterator[tuple[OrgConfig, Path]]:
    """As `flowmart run`: the configured sources, else the sample organisation behind its local server
    (FLOWMART_SAMPLE=1 forces the sample; FLOWMART_SAMPLE_SCALE and FLOWMART_SAMPLE_ANCHOR shape it)."""
    config_path = runner.org_config_path()
    anchor = os.environ.get("FLOWMART_SAMPLE_ANCHOR")
    with runner.environment(
        config_path,
        use_sample=bool(os.environ.get("FLOWMART_SAMPLE")),
        scale=float(os.environ.get("FLOWMART_SAMPLE_SCALE", "1")),
        anchor=date.fromisoformat(anchor) if anchor else None,
        wanted=wanted,
    ) as (org, org_dir, _):
        yield org, org_dir


DAGSTER_SOURCES = runner.available_loaders()
