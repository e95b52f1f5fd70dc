"""Kept for instances whose dagster.yaml (copied before the move) names this module: the class is in dagster_private."""

from dagster_project.dagster_private import PooledSqliteEventLogStorage as PooledSqliteEventLogStorage
