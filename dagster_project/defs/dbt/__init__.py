"""The dbt project and its models as Dagster assets."""
