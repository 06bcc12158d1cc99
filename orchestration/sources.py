"""The loaders as Dagster sees them: a definition-time source per loader (for asset specs only; it sends
no request and reads no file) and a run-time step that builds the source from the org config of the
run and does what the loader's own `load()` does around `pipeline.run` (error checks, clean-ups)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dlt

from orchestration import runner
from pipelines.orgconfig import OrgConfig, parse_org_config
from pipelines.settings import file_format, make_pipeline

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
def run_environment() -> Iterator[tuple[OrgConfig, Path]]:
    """As `flowmart run`: the configured sources, else the sample organisation behind its local server
    (FLOWMART_SAMPLE=1 forces the sample; FLOWMART_SAMPLE_SCALE and FLOWMART_SAMPLE_ANCHOR shape it)."""
    config_path = runner.org_config_path()
    anchor = os.environ.get("FLOWMART_SAMPLE_ANCHOR")
    with runner.environment(
        config_path,
        use_sample=bool(os.environ.get("FLOWMART_SAMPLE")),
        scale=float(os.environ.get("FLOWMART_SAMPLE_SCALE", "1")),
        anchor=date.fromisoformat(anchor) if anchor else None,
    ) as (org, org_dir, _):
        yield org, org_dir


Runner = Callable[[Any, Any, OrgConfig, Path, dlt.Pipeline], Iterator[Any]]


def _default(name: str) -> Runner:
    def run(dlt_resource: Any, context: Any, org: OrgConfig, org_dir: Path, pipe: dlt.Pipeline) -> Iterator[Any]:
        module = runner.loader_module(name)
        source = module.build_source(org, org_dir)
        yield from dlt_resource.run(context=context, dlt_source=source, dlt_pipeline=pipe,
                                    loader_file_format=file_format())
        check = getattr(module, "raise_if_incomplete", None)
        if check is not None:
            check(source)

    return run


def _git(dlt_resource: Any, context: Any, org: OrgConfig, org_dir: Path, pipe: dlt.Pipeline) -> Iterator[Any]:
    from pipelines import git

    fmt = "jsonl" if pipe.destination.destination_name == "duckdb" else None
    yield from dlt_resource.run(context=context, dlt_source=git.source_from_org(org, org_dir), dlt_pipeline=pipe,
                                loader_file_format=fmt)
    git.materialize_missing_tables(pipe)


def _delivery(dlt_resource: Any, context: Any, org: OrgConfig, org_dir: Path, pipe: dlt.Pipeline) -> Iterator[Any]:
    from pipelines import delivery

    yield from dlt_resource.run(context=context, dlt_source=delivery.source_from_org(org, org_dir),
                                dlt_pipeline=pipe)


def _survey(dlt_resource: Any, context: Any, org: OrgConfig, org_dir: Path, pipe: dlt.Pipeline) -> Iterator[Any]:
    from pipelines import survey

    batch = survey.prepare(org, org_dir, pipe)
    yield from dlt_resource.run(context=context, dlt_source=_survey_dlt_source(batch), dlt_pipeline=pipe)
    survey.finish(pipe, batch)


RUNNERS: dict[str, Runner] = {"git": _git, "delivery": _delivery, "survey": _survey}


def run_step(name: str, dlt_resource: Any, context: Any) -> Iterator[Any]:
    with run_environment() as (org, org_dir):
        step = RUNNERS.get(name) or _default(name)
        yield from step(dlt_resource, context, org, org_dir, pipeline(name))


DAGSTER_SOURCES = runner.available_loaders()
