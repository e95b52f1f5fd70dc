"""The Dagster wiring, one package per domain (ingestion, dbt, audits, serving, automation), each with its
``definitions.py``; ``dagster_project.definitions`` merges them. The domain code they wire (the contract,
ingestion, the lake, the state, publication, the report) lives outside ``defs/`` and never imports Dagster
(pyproject.toml [tool.importlinter], checked by ``make lint``)."""
