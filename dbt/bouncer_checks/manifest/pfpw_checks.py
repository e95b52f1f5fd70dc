"""The project's own dbt-bouncer checks: rules of dbt-project-evaluator that dbt-bouncer has no check for.

dbt-bouncer loads this file through `custom_checks_dir` in ../../dbt-bouncer.yml (the folder name, `manifest`,
is the category: these checks read manifest.json only).
"""

from pathlib import PurePosixPath

from dbt_bouncer.check_framework.decorator import check, fail
from dbt_bouncer.utils import clean_path_str, get_clean_model_name


def _kwarg(kwargs, key):
    return kwargs.get(key) if isinstance(kwargs, dict) else getattr(kwargs, key, None)


def _tests(model, ctx):
    """(name, column_name, columns) of every generic test attached to the model."""
    out = []
    for test in ctx.tests_by_attached_node.get(model.unique_id, []):
        meta = getattr(test, "test_metadata", None)
        if not meta:
            continue
        kwargs = getattr(meta, "kwargs", None) or {}
        column = _kwarg(kwargs, "column_name") or getattr(test, "column_name", None)
        out.append((getattr(meta, "name", ""), column, _kwarg(kwargs, "columns")))
    return out


@check
def check_model_has_primary_key_test(
    model,
    ctx,
    *,
    unique_tests: list[str] = ["unique"],  # noqa: B006 (a pydantic field default)
    combination_tests: list[str] = ["unique_combination"],  # noqa: B006
):
    """A model's grain is tested: `unique` and `not_null` on one column, or a combination test and `not_null` on each
    of its columns (dbt-project-evaluator's "missing primary key tests"; check_model_has_unique_test accepts a
    unique test on a nullable column)."""
    tests = _tests(model, ctx)
    not_null = {column for name, column, _ in tests if name == "not_null" and column}
    single = [column for name, column, _ in tests if name in unique_tests and column in not_null]
    combos = [
        columns
        for name, _, columns in tests
        if name in combination_tests and columns and set(columns) <= not_null
    ]
    if not (single or combos):
        fail(
            f"`{get_clean_model_name(model.unique_id)}` has no primary-key test: neither unique + not_null on one "
            f"column nor {combination_tests} with not_null on each of its columns."
        )


@check
def check_source_freshness_declared(source):
    """A source table has a freshness (warn_after or error_after), or says explicitly that it has none
    (`freshness: null`): dbt-project-evaluator's "sources without freshness" with the explicit opt-out it accepts.
    In the manifest an explicit null is `freshness: null`, an undeclared one a freshness with no thresholds."""
    freshness = source.freshness
    if freshness is None:
        return
    populated = [
        after
        for after in (freshness.warn_after, freshness.error_after)
        if after and after.count is not None and after.period is not None
    ]
    if not populated:
        fail(
            f"`{source.source_name}.{source.name}` declares no freshness: set warn_after/error_after, or "
            "`freshness: null` with the reason."
        )


@check
def check_model_upstream_models_in_subdirectory(model, ctx, *, subdirectory: str = "base"):
    """The models a model reads are in `<its own directory>/<subdirectory>/`: a staging model reads its source
    through the base models of its own source folder, never another folder's or another layer's models."""
    home = PurePosixPath(clean_path_str(model.original_file_path)).parent / subdirectory
    models = ctx.models_by_unique_id or {m.unique_id: m for m in ctx.models}
    elsewhere = [
        upstream.split(".")[-1]
        for upstream in getattr(model.depends_on, "nodes", []) or []
        if upstream.startswith("model.")
        and upstream in models
        and PurePosixPath(clean_path_str(models[upstream].original_file_path)).parent != home
    ]
    if elsewhere:
        fail(f"`{get_clean_model_name(model.unique_id)}` reads models outside {home}/: {elsewhere}.")


@check
def check_source_used_by_models_in_its_directory(source, ctx, *, subdirectory: str = "base"):
    """A source is read only by models in the folder of its properties file or in its `<subdirectory>/`
    (dbt-project-evaluator's source directories, with dbt's base models in `staging/<source>/base/`)."""
    home = PurePosixPath(clean_path_str(source.original_file_path)).parent
    elsewhere = [
        m.name
        for m in ctx.children_by_unique_id.get(source.unique_id, [])
        if PurePosixPath(clean_path_str(m.original_file_path)).parent not in (home, home / subdirectory)
    ]
    if elsewhere:
        fail(f"Source `{source.source_name}.{source.name}` is read by models outside {home}/: {elsewhere}.")
