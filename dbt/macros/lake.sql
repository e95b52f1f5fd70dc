{#- The lake's Parquet files of one extract, as a relation (hive folders are not columns: reporting_month is). -#}
{% macro lake_glob(extract) -%}
    read_parquet('{{ env_var("PFPW_WAREHOUSE_DIR", "../warehouse") }}/lake/{{ extract }}/**/*.parquet', union_by_name = true, hive_partitioning = false)
{%- endmacro %}

{#- The current row of each key across re-deliveries: the latest reporting month, then the later file name,
    then the later row (extracts.md, "Keys are unique per extract kind across the whole landing zone"). -#}
{% macro latest_delivery_order() -%}
    reporting_month desc, source_file desc, source_row desc
{%- endmacro %}
