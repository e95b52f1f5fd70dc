{#- SQL constructs spelled differently by the two engines the project runs on: DuckDB (dbt-duckdb, the default)
    and Apache Spark (dbt-spark, target `spark`). One macro per construct, dispatched on the adapter; the DuckDB
    implementation is the SQL the models had before Spark (the DuckDB build is unchanged, cell for cell). Everything
    else in the models is SQL both engines read alike (`::type`, `filter (where …)`, `qualify`, `group by all`,
    `make_date`, `anti join`, `left`/`right`, named windows). There is no default implementation: a third engine
    fails to compile until it has its own. -#}

{#- The elements of a list of strings joined by a separator, e.g. a quarantined row's reasons. -#}
{% macro list_to_string(list, separator) -%}
    {{ return(adapter.dispatch('list_to_string', 'pfpw')(list, separator)) }}
{%- endmacro %}

{% macro duckdb__list_to_string(list, separator) -%}
    array_to_string({{ list }}, {{ separator }})
{%- endmacro %}

{% macro spark__list_to_string(list, separator) -%}
    array_join({{ list }}, {{ separator }})
{%- endmacro %}

{#- Aggregate: the n smallest values of a column in the group, as a sorted list (NULLs are left out). -#}
{% macro sorted_list_head(column, n) -%}
    {{ return(adapter.dispatch('sorted_list_head', 'pfpw')(column, n)) }}
{%- endmacro %}

{% macro duckdb__sorted_list_head(column, n) -%}
    list({{ column }} order by {{ column }})[1:{{ n }}]
{%- endmacro %}

{% macro spark__sorted_list_head(column, n) -%}
    slice(sort_array(collect_list({{ column }})), 1, {{ n }})
{%- endmacro %}

{#- FROM clause: a list column of the table before it, as a table `alias` of one column, a row per element
    (`from t, {{ unnest_table('t.items', 'i', 'item') }}`); a row whose list is empty or NULL gives none. -#}
{% macro unnest_table(list, alias, column) -%}
    {{ return(adapter.dispatch('unnest_table', 'pfpw')(list, alias, column)) }}
{%- endmacro %}

{% macro duckdb__unnest_table(list, alias, column) -%}
    unnest({{ list }}) as {{ alias }} ({{ column }})
{%- endmacro %}

{% macro spark__unnest_table(list, alias, column) -%}
    lateral explode({{ list }}) as {{ alias }} ({{ column }})
{%- endmacro %}

{#- Select list: a row per element of a list column, the element as `value_column` and its place in the list
    (from 1) as `position_column`; a row whose list is empty or NULL gives none. -#}
{% macro unnest_with_position(list, value_column, position_column) -%}
    {{ return(adapter.dispatch('unnest_with_position', 'pfpw')(list, value_column, position_column)) }}
{%- endmacro %}

{% macro duckdb__unnest_with_position(list, value_column, position_column) -%}
    unnest({{ list }}) as {{ value_column }},
        generate_subscripts({{ list }}, 1) as {{ position_column }}
{%- endmacro %}

{% macro spark__unnest_with_position(list, value_column, position_column) -%}
    inline(transform({{ list }}, (item, i) -> named_struct(
        '{{ value_column }}', item, '{{ position_column }}', i + 1
    )))
{%- endmacro %}

{#- A field of a struct, by name. -#}
{% macro struct_field(struct, field) -%}
    {{ return(adapter.dispatch('struct_field', 'pfpw')(struct, field)) }}
{%- endmacro %}

{% macro duckdb__struct_field(struct, field) -%}
    struct_extract({{ struct }}, '{{ field }}')
{%- endmacro %}

{% macro spark__struct_field(struct, field) -%}
    {{ struct }}.{{ field }}
{%- endmacro %}

{#- Days from date `start` to date `end` (calendar days: negative when end is earlier; NULL when either is). -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'pfpw')(start, end)) }}
{%- endmacro %}

{% macro duckdb__days_between(start, end) -%}
    datediff('day', {{ start }}, {{ end }})
{%- endmacro %}

{% macro spark__days_between(start, end) -%}
    datediff({{ end }}, {{ start }})
{%- endmacro %}

{#- An instant as UTC text, 2012-03-01T02:00:00Z (seconds; the DuckDB profile's session time zone is UTC, the
    Spark one converts from whatever the session's is). -#}
{% macro utc_iso_string(instant) -%}
    {{ return(adapter.dispatch('utc_iso_string', 'pfpw')(instant)) }}
{%- endmacro %}

{% macro duckdb__utc_iso_string(instant) -%}
    strftime({{ instant }}, '%Y-%m-%dT%H:%M:%SZ')
{%- endmacro %}

{% macro spark__utc_iso_string(instant) -%}
    date_format(to_utc_timestamp({{ instant }}, current_timezone()), "yyyy-MM-dd'T'HH:mm:ss'Z'")
{%- endmacro %}
