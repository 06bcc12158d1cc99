"""The org config lands in the warehouse as flat tables (`raw_org.*`) that dbt joins.

Each run replaces the tables with the file's current content. Team members are pseudonymised with the
same salt as the loaders, so membership joins with the tracker and Git identities."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import dlt

from pipelines.arrow import columns_of, to_arrow
from pipelines.orgconfig import OrgConfig, org_config_rows
from pipelines.privacy import Pseudonymiser
from pipelines.settings import make_pipeline, run_pipeline

log = logging.getLogger("flowmart.org")

# Column types for tables whose values may all be NULL in a small config (dlt would drop the column).
COLUMNS: dict[str, dict[str, Any]] = {
    "value_streams": {"name": "text", "owner": "text", "description": "text"},
    "value_stream_steps": {"value_stream": "text", "step_order": "bigint", "status": "text"},
    "teams": {"name": "text", "value_stream": "text", "topology": "text", "monthly_cost": "double",
              "member_count": "bigint"},
    "team_members": {"team": "text", "member_id": "text"},
    "jira_ownership_rules": {"rule_order": "bigint", "team": "text", "project": "text", "component": "text",
                             "label": "text", "team_field": "text"},
    "git_ownership_rules": {"rule_order": "bigint", "repository": "text", "team": "text", "service": "text"},
    "status_mappings": {"project": "text", "status": "text", "flow_state": "text"},
    "flow_item_type_rules": {"rule_kind": "text", "match_value": "text", "flow_item_type": "text",
                             "rule_order": "bigint"},
    "issue_type_roles": {"issue_type": "text", "role": "text"},
    "incident_labels": {"label": "text"},
    "canceled_resolutions": {"resolution": "text"},
    "objectives": {"id": "text", "title": "text", "level": "text", "owner": "text", "parent_key_result": "text"},
    "key_results": {"key_result_id": "text", "objective_id": "text", "title": "text"},
    "survey_questions": {"id": "text", "text": "text", "dimension": "text", "scale": "text",
                         "reverse_scored": "bool"},
    "settings": {"setting": "text", "value": "text"},
    "outcome_placeholders": {"placeholder": "text"},
    "ai_assist_patterns": {"kind": "text", "pattern": "text"},
    "dora_bands": {"metric": "text", "band": "text", "band_rank": "bigint", "min_value": "double",
                   "max_value": "double"},
}


@dlt.source(name="org", max_table_nesting=0)
def org_source(config: OrgConfig, salt: str | None = None) -> Any:
    """One `replace` resource per table of the org config."""
    tables = org_config_rows(config, Pseudonymiser(salt))

    def table(name: str) -> Any:
        columns = columns_of(COLUMNS[name])

        @dlt.resource(name=name, write_disposition="replace", columns=columns)
        def rows() -> Any:
            yield to_arrow(tables[name], columns)  # an empty table still lands, so dbt finds it

        return rows

    return [table(name) for name in COLUMNS]


def build_source(org: OrgConfig, org_dir: Path | None = None) -> Any:
    return org_source(org)


def definition_source() -> Any:
    from pipelines.orgconfig import parse_org_config

    return org_source(parse_org_config({"value_streams": [], "teams": []}))


def load(org: OrgConfig, org_dir: Path | None = None, target: str | None = None) -> dict[str, int]:
    pipeline = make_pipeline("org", target)
    run_pipeline(pipeline, org_source(org), target)
    counts = {name: len(rows) for name, rows in org_config_rows(org, lambda x: x).items()}
    log.info("org: %d value streams, %d teams, %d ownership rules", counts["value_streams"], counts["teams"],
             counts["jira_ownership_rules"] + counts["git_ownership_rules"])
    return counts


if __name__ == "__main__":  # pragma: no cover
    import os

    from pipelines.orgconfig import load_org_config

    logging.basicConfig(level=logging.INFO)
    path = Path(os.environ.get("FLOWMART_ORG_CONFIG", "flowmart.yml"))
    print(load(load_org_config(path), path.parent))
