"""Orchestration of flowmart: the `flowmart` CLI and the Dagster definitions."""
