"""The loaders as Dagster sees them: a definition-time source (for asset specs only; it sends no
request) and a run-time source built from the org config and the environment of the run."""

from __future__ import annotations

import contextlib
import os
from datetime import date
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt

from orchestration import runner
from pipelines.orgconfig import OrgConfig
from pipelines.settings import make_pipeline

DAGSTER_SOURCES = [n for n in runner.available_loaders() if n in ("org", "jira")]


def definition_source(name: str) -> Any:
    module = runner.loader_module(name)
    return module.definition_source()


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


def runtime_source(name: str, org: OrgConfig, org_dir: Path) -> Any:
    return runner.loader_module(name).build_source(org, org_dir)


def raise_if_incomplete(name: str, source: Any) -> None:
    check = getattr(runner.loader_module(name), "raise_if_incomplete", None)
    if check is not None:
        check(source)
