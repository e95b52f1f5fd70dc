{#- dbt's get_where_subquery (how a data test's `where` config filters its model), with one more form:
    `where: "changed_months:<extract>:<column>"` tests only the rows of the months an incremental night
    rewrote in that lake extract (macros/incremental.sql; every row in a full build). For models whose rows
    depend on their own month's deliveries only: another month's rows, and so its result, cannot change.
    Rendered when the test runs (a custom macro cannot be named in the config itself, which dbt renders at
    parse time). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and where.startswith('changed_months:') -%}
        {%- set parts = where.split(':') -%}
        {%- set where = in_changed_months(parts[2], parts[1]) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') as dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
