"""Audits of the marts before publication: Great Expectations suites as blocking Dagster asset checks."""
