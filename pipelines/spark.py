"""The local Spark session of the `spark` target (dbt-spark's `session` method), for SQL outside dbt: the run
summary, the report and the tests. Its settings are the `spark` output of profiles.yml, read from that file, so
the session is the one dbt creates (in the same process, Spark hands back dbt's session)."""

from __future__ import annotations

import os
from typing import Any

import yaml

from pipelines.settings import PROJECT_ROOT, lake_url, spark_dir


def profile() -> dict[str, Any]:
    """The `spark` output of profiles.yml with its `env_var(...)` calls rendered."""
    import jinja2

    spark_dir()  # export the absolute folders the profile reads
    lake_url()
    text = (PROJECT_ROOT / "profiles.yml").read_text()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["env_var"] = lambda name, default=None: os.environ.get(name, default)
    rendered = yaml.safe_load(text)["flowmart"]["outputs"]["spark"]

    def render(value: Any) -> Any:
        if isinstance(value, str):
            return env.from_string(value).render()
        if isinstance(value, dict):
            return {k: render(v) for k, v in value.items()}
        return value

    return render(rendered)


def session() -> Any:
    """The Spark session (created with the profile's settings when this process has none yet)."""
    settings = profile()
    if settings.get("method") != "session":
        raise RuntimeError(
            f"the spark profile uses method {settings.get('method')!r}: flowmart reads Spark outside dbt only in "
            "session mode; on a cluster, query the marts through its SQL endpoint")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in (settings.get("server_side_parameters") or {}).items():
        builder = builder.config(key, str(value))
    return builder.getOrCreate()
