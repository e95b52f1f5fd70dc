{#- The current row of each key across re-deliveries: the latest reporting month, then the later file name,
    then the later row (extracts.md, "Keys are unique per extract kind across the whole landing zone"). -#}
{% macro latest_delivery_order() -%}
    reporting_month desc, source_file desc, source_row desc
{%- endmacro %}
