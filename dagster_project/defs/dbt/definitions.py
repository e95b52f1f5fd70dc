"""dbt's definitions: the models as assets, and the dbt CLI resource they run with."""

import dagster as dg

from dagster_project.defs.dbt.assets import dbt_models, dbt_resource

defs = dg.Definitions(assets=[dbt_models], resources={"dbt": dbt_resource})
