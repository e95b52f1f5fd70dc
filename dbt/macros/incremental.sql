{#-
    Incremental models rebuilt month by month. The orchestrator passes, on an incremental night,
    the months each lake extract rewrote ({extract: [YYYY-MM, ...]}) in the environment variable
    PFPW_CHANGED_MONTHS, not as a dbt var: a var that changes every night makes dbt parse the whole
    project again, an environment variable only the models that read it. Every other night it builds
    with --full-refresh. By hand, `--vars '{pfpw_changed_months: {...}}'` does the same (the var wins).
    Without either, an incremental run replaces every month: the result is always that of a full build.
-#}

{% macro changed_months(extract) -%}
    {%- set changes = var('pfpw_changed_months', none) -%}
    {%- if changes is none -%}
        {%- set passed = env_var('PFPW_CHANGED_MONTHS', '') | trim -%}
        {%- if passed == '' -%}{{ return(none) }}{%- endif -%}
        {%- set changes = fromjson(passed) -%}
    {%- endif -%}
    {{ return(changes.get(extract, [])) }}
{%- endmacro %}


{#- the rows of the months an incremental run rebuilds: all of them without the var, none for an empty list -#}
{% macro in_changed_months(column, extract) -%}
    {%- set months = changed_months(extract) -%}
    {%- if months is none -%}
        true
    {%- elif months | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in ({% for m in months %}'{{ m }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}


{#- pre-hook: the months being rebuilt leave the table first (a withdrawn month has no rows to insert) -#}
{% macro delete_changed_months(column, extract) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_changed_months(column, extract) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
