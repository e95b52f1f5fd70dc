"""Reporting months: one partition per <YYYY-MM> folder of the landing zone, added as folders appear."""

import dagster as dg

reporting_month = dg.DynamicPartitionsDefinition(name="reporting_month")
