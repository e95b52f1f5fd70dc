"""The audits' definitions: the Great Expectations suites as blocking asset checks on the marts."""

import dagster as dg

from dagster_project.defs.audits.checks import GX_CHECKS

defs = dg.Definitions(asset_checks=[*GX_CHECKS])
