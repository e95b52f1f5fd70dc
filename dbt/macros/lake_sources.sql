{#- The lake's sources on each engine (on-run-start). DuckDB reads the lake where it is: dbt-duckdb renders
    source() as the source's meta.external_location, read_parquet('<lake path>', …). Spark needs them in its
    catalog: every source table with an external_location becomes an external Parquet table over the same path,
    dropped and registered again at the start of every run (only the catalog entry: the lake's files are never
    touched), so its schema and files are those of tonight's lake. The path in read_parquet(…) is the one
    declaration of where a source lives, for both engines. -#}
{% macro create_lake_sources() -%}
    {{ return(adapter.dispatch('create_lake_sources', 'pfpw')()) }}
{%- endmacro %}

{% macro duckdb__create_lake_sources() -%}
{%- endmacro %}

{#- The lake path of a source: the first argument of its read_parquet(…), with {name} and {identifier} filled in
    as dbt-duckdb does. -#}
{% macro lake_source_path(node) -%}
    {%- set match = modules.re.search("read_parquet\(\s*'([^']+)'", node.meta.external_location) -%}
    {%- if not match -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ node.source_name ~ "." ~ node.name ~ ": external_location is not read_parquet('<path>', …)") }}
    {%- endif -%}
    {{ return(match.group(1) | replace('{name}', node.name) | replace('{identifier}', node.identifier)) }}
{%- endmacro %}

{#- A folder read recursively (<folder>/**/*.parquet: month=YYYY-MM/ subfolders) is registered with the columns its
    source declares (data_type: the lake's fixed schema as Spark DDL types), never with a schema inferred from the
    files: Spark skips files whose name starts with "_" (the folder's _empty.parquet), so it could not infer one for
    an extract with no delivery yet. Spark reads every file by column name, a column missing from a file is NULL, as
    with DuckDB's union_by_name. Any other path (one file, or <folder>/*.parquet) is read with the files' schema. -#}
{% macro spark__create_lake_sources() -%}
    {%- if execute -%}
        {%- set sources = graph.sources.values() | selectattr('package_name', 'equalto', project_name)
                          | selectattr('meta.external_location', 'defined') | list -%}
        {%- for schema in sources | map(attribute='schema') | unique -%}
            {%- do run_query('create schema if not exists ' ~ schema) -%}
        {%- endfor -%}
        {%- for node in sources -%}
            {%- set path = lake_source_path(node) -%}
            {%- set table = node.schema ~ '.' ~ node.identifier -%}
            {%- if path.endswith('/**/*.parquet') -%}
                {%- set location = path[:-('/**/*.parquet' | length)] -%}
                {%- set columns = [] -%}
                {%- for column in node.columns.values() -%}
                    {%- if not column.data_type -%}
                        {{ exceptions.raise_compiler_error("source " ~ node.source_name ~ "." ~ node.name
                            ~ ", column " ~ column.name ~ ": a lake folder's columns need their data_type on Spark") }}
                    {%- endif -%}
                    {%- do columns.append('`' ~ column.name ~ '` ' ~ column.data_type) -%}
                {%- endfor -%}
                {%- set ddl = '(' ~ columns | join(', ') ~ ") using parquet options (recursiveFileLookup 'true')" -%}
            {%- elif path.endswith('/*.parquet') -%}
                {%- set location = path[:-('/*.parquet' | length)] -%}
                {%- set ddl = 'using parquet' -%}
            {%- else -%}
                {%- set location = path -%}
                {%- set ddl = 'using parquet' -%}
            {%- endif -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query('create table ' ~ table ~ ' ' ~ ddl ~ " location '" ~ location ~ "'") -%}
        {%- endfor -%}
        {{- log('registered ' ~ sources | length ~ ' lake sources in the Spark catalog') -}}
    {%- endif -%}
{%- endmacro %}
