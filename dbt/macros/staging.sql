{#- A base model: every delivered row of a lake extract, with every column its source declares (the lake's fixed
    schema, dagster_project/lake.py: the extract's own columns, then source_file, reporting_month, source_row),
    ranked among the deliveries of its record_key (delivery_ranking, over latest_delivery_order). Where a record is
    not the entity (a court case is sent again as it changes: record case_no + updated_at, entity case_no),
    is_current is instead the entity's current state: its first row in current_state_order. -#}
{% macro base_deliveries(source_name, table_name, record_key, current_state_of=none, current_state_order=none) -%}
select
    *,
    {%- if current_state_of is none %}
    {{ delivery_ranking() }}
    {%- else %}
    row_number() over deliveries as delivery_rank,
    first_value(source_file) over deliveries as current_file,
    first_value(source_row) over deliveries as current_row,
    row_number() over (
        partition by {{ current_state_of }} order by {{ current_state_order }}
    ) = 1 as is_current
    {%- endif %}
from {{ source(source_name, table_name) }}
window deliveries as (partition by {{ record_key }} order by {{ latest_delivery_order() }})
{%- endmacro %}
