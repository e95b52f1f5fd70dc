{#- The current row of each key across re-deliveries: the latest reporting month, then the later file name,
    then the later row (extracts.md, "Keys are unique per extract kind across the whole landing zone"). -#}
{% macro latest_delivery_order() -%}
    reporting_month desc, source_file desc, source_row desc
{%- endmacro %}

{#- A base model's ranking of the deliveries of each key, over its window `deliveries`: the rank, the current
    file and row, and whether this row is the current one. -#}
{% macro delivery_ranking(window='deliveries') -%}
    row_number() over {{ window }} as delivery_rank,
    first_value(source_file) over {{ window }} as current_file,
    first_value(source_row) over {{ window }} as current_row,
    row_number() over {{ window }} = 1 as is_current
{%- endmacro %}
