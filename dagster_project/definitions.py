"""The one Definitions object: what the Dagster UI, the CLI and the tests load, merged from the domains' in ``defs/``."""

import dagster as dg

from dagster_project.defs.audits import definitions as audits
from dagster_project.defs.automation import definitions as automation
from dagster_project.defs.automation.jobs import JOB_NAME
from dagster_project.defs.dbt import definitions as dbt
from dagster_project.defs.ingestion import definitions as ingestion
from dagster_project.defs.resources import PfpwPaths
from dagster_project.defs.serving import definitions as serving

defs = dg.Definitions.merge(
    ingestion.defs,
    dbt.defs,
    audits.defs,
    serving.defs,
    automation.defs,
    dg.Definitions(resources={"paths": PfpwPaths()}),
)


def nightly_job() -> dg.JobDefinition:
    """The nightly job, for ``dg.reconstructable``: what each step process of a multiprocess run loads."""
    return defs.resolve_job_def(JOB_NAME)
