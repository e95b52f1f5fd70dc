"""Publication's definitions: the serving database (from the marts and audits dbt builds) and the report."""

import dagster as dg

from dagster_project.defs.dbt.assets import dbt_models
from dagster_project.defs.serving.assets import build_serving_asset
from dagster_project.defs.serving.report import survey_report

PUBLISHED = [k for k in dbt_models.keys if k.path[0] in ("marts", "audit")]

defs = dg.Definitions(assets=[build_serving_asset(PUBLISHED), survey_report])
