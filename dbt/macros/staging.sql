{#- A base model: every delivered row of a lake extract, with every column its source declares (the lake's fixed
    schema, dagster_project/lake.py: the extract's own columns, then source_file, reporting_month, source_row),
    ranked among the deliveries of its record_key (delivery_ranking, over latest_delivery_order). Where a record is
    not the entity (a court case is sent again as it changes: record case_no + updated_at, entity case_no),
    is_current is instead the entity's current state: its first row in current_state_order. -#}
{% macro base_deliveries(
    source_name, table_name, record_key, current_state_of=none, current_state_order=none, log_with=none
) -%}
{%- set entity = current_state_of or record_key -%}
{%- set args = "'" ~ entity ~ "', '" ~ (log_with or '') ~ "'" -%}
{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{{ touched_entities('" ~ entity ~ "', '" ~ source_name ~ "', '" ~ table_name ~ "') }}",
        "{{ touched_log('create', " ~ args ~ ") }}",
        "{{ touched_log('clear', " ~ args ~ ") }}",
        "{{ touched_log('fill', " ~ args ~ ") }}",
        "{{ keep_touched_rows('" ~ entity ~ "', '" ~ source_name ~ "', '" ~ table_name ~ "') }}",
        "{{ delete_touched_entities('" ~ entity ~ "') }}",
    ],
    post_hook=["{{ drop_beside(touched_relation()) }}", "{{ drop_beside(kept_relation()) }}"],
) }}
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
{%- if is_incremental() %}
{#- the touched entities' rows: the lake's of the months the night rewrote, the table's own of every other month
    (kept by the pre-hook: those months' files did not change). Qualified, so that the column lineage (lineage.py)
    resolves them without the touched and kept tables' columns, and gives the full build's (the lake's). #}
from (
    select * from {{ source(source_name, table_name) }} as lake
    where {{ in_changed_months('lake.reporting_month', source_name ~ '_' ~ table_name) }}
        and lake.{{ entity }} in (select touched.{{ entity }} from {{ touched_relation() }} as touched)
    union all
    select {% for column in delivered_columns() %}kept.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ kept_relation() }} as kept
) as delivered
{%- else %}
from {{ source(source_name, table_name) }} as delivered
{%- endif %}
window deliveries as (partition by {{ record_key }} order by {{ latest_delivery_order() }})
{%- endmacro %}


{#- Incremental by entity (dbt/macros/incremental.sql says when a night is incremental): the entities a night
    touched are those with a row in a month it rewrote, in the lake now or in the table before (a withdrawn month's
    rows leave their entities' ranking). Those entities' rows leave the table and are ranked again over every month
    (the lake's rows of the months the night rewrote, the table's own of the others: keep_touched_rows); the
    ranking is partitioned by entity (a record key lies within its entity), so every other row is
    what a full build gives it. The touched entities are kept in a table beside the model for the run (not a temporary
    table: the hooks and the model's statement need not share one connection) and dropped after it. -#}
{% macro touched_relation() -%}
    {{ return(api.Relation.create(database=this.database, schema=this.schema, identifier=this.identifier ~ '__touched')) }}
{%- endmacro %}

{% macro touched_entities(entity, source_name, table_name) -%}
    {%- if ',' in entity -%}
        {{ exceptions.raise_compiler_error("base_deliveries: the entity must be one column, not " ~ entity) }}
    {%- endif -%}
    {%- if is_incremental() -%}
        {%- set months = in_changed_months('reporting_month', source_name ~ '_' ~ table_name) -%}
        create or replace table {{ touched_relation() }} as
        select {{ entity }} from {{ source(source_name, table_name) }} where {{ months }}
        union
        select {{ entity }} from {{ this }} where {{ months }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro delete_touched_entities(entity) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ entity }} in (select {{ entity }} from {{ touched_relation() }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The touched entities' rows of the months the night did not rewrite, as the table holds them (their files did
    not change since the table was built from them: the lake is not read for them, a scan of every month that
    grew with the history). Kept for the model's statement before the entities' rows leave the table. The table's
    rows are those of the last build that committed: the hooks and the statement are one transaction. -#}
{% macro kept_relation() -%}
    {{ return(api.Relation.create(database=this.database, schema=this.schema, identifier=this.identifier ~ '__kept')) }}
{%- endmacro %}

{#- the table's delivered columns, in its order (the lake's): all but the ranking's four (delivery_ranking) -#}
{% macro delivered_columns() -%}
    {%- set ranking = ['delivery_rank', 'current_file', 'current_row', 'is_current'] -%}
    {{ return(adapter.get_columns_in_relation(this) | map(attribute='name') | reject('in', ranking) | list) }}
{%- endmacro %}

{% macro keep_touched_rows(entity, source_name, table_name) -%}
    {%- if is_incremental() -%}
        create or replace table {{ kept_relation() }} as
        select {{ delivered_columns() | join(', ') }} from {{ this }} as kept
        where kept.{{ entity }} in (select touched.{{ entity }} from {{ touched_relation() }} as touched)
            and not ({{ in_changed_months('kept.reporting_month', source_name ~ '_' ~ table_name) }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- post-hook: a table beside the model (the touched entities, the kept rows) dropped after every build, not only
    incremental ones: a full build also removes what a failed night left -#}
{% macro drop_beside(relation) -%}
    {%- if target.type != 'spark' -%}
        drop table if exists {{ relation }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- The touched entities' log (base models given ``log_with``), for the intermediates built on the base model
    (int_registrations by registration, int_hospital_births_matched by mother). Written by the pre-hook, before the
    touched entities' rows leave the table: every entity the night ranks again (``before`` false), and the
    ``log_with`` value of every row each had in the table before (``before`` true: a withdrawn or corrected
    registration's old mother is only there). Their rows after the night are the base table's own, read by
    :func:`logged_values`. Neither reads the lake: the base table holds every delivered row of its entities. The log
    lives in schema ``touched`` (never published), holds the rows of the dbt invocation that wrote it
    (``invocation_id``): every build of the base model clears it first, and a reader takes only its own invocation's
    rows, so a base model this invocation did not build gives nothing. ``step``: create (if missing), clear, fill (on
    an incremental build). -#}
{% macro touched_log_relation(model_name) -%}
    {{ return(api.Relation.create(database=this.database, schema='touched', identifier=model_name)) }}
{%- endmacro %}

{% macro touched_log(step, entity, log_with) -%}
    {%- set log = touched_log_relation(this.identifier) -%}
    {%- if log_with == '' or target.type == 'spark' -%}
        select 1
    {%- elif step == 'create' -%}
        {#- a full build makes it afresh (another version of the code may have left another shape) -#}
        create {{ 'table if not exists' if is_incremental() else 'or replace table' }} {{ log }} (
            invocation_id varchar, {{ entity }} varchar, {{ log_with }} varchar, before boolean
        )
    {%- elif step == 'clear' -%}
        delete from {{ log }}
    {%- elif step == 'fill' and is_incremental() -%}
        insert into {{ log }}
        select '{{ invocation_id }}', touched.{{ entity }}, null, false from {{ touched_relation() }} as touched
        union all
        select distinct '{{ invocation_id }}', before.{{ entity }}, before.{{ log_with }}, true
        from {{ this }} as before
        where before.{{ entity }} in (select touched.{{ entity }} from {{ touched_relation() }} as touched)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The entities of ``model_name``'s log written by this invocation (a subquery) -#}
{% macro logged_entities(model_name, entity) -%}
    (
        select logged.{{ entity }} from {{ touched_log_relation(model_name) }} as logged
        where logged.invocation_id = '{{ invocation_id }}' and not logged.before
    )
{%- endmacro %}

{#- The values of ``column`` an intermediate rebuilds on an incremental night (a subquery; NULL as the text '~', never
    a key: keys are digests): for each base model (``entities``: base model -> [its staging model of current rows, its
    entity column]), the values its touched entities' rows held before (the log) and their current rows hold now (the
    staging model, which the intermediate reads anyway: the column lineage sees no other parent). -#}
{% macro logged_values(column, entities) -%}
    (
    {%- for model_name, read in entities.items() %}
        select coalesce(logged.{{ column }}, '~') from {{ touched_log_relation(model_name) }} as logged
        where logged.invocation_id = '{{ invocation_id }}' and logged.before
        union
        select coalesce(now.{{ column }}, '~') from {{ ref(read[0]) }} as now
        where now.{{ read[1] }} in {{ logged_entities(model_name, read[1]) }}
        {%- if not loop.last %} union{% endif %}
    {%- endfor %}
    )
{%- endmacro %}

{#- pre-hook of such an intermediate: the rows of the logged values leave the table first (a withdrawn entity has none
    to insert) -#}
{% macro delete_logged_values(column, entities) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where coalesce({{ column }}, '~') in {{ logged_values(column, entities) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- on-run-start: the touched entities' logs' schema, made once before the base models build side by side -#}
{% macro create_touched_schema() -%}
    {%- if target.type == 'spark' -%}
        select 1
    {%- else -%}
        create schema if not exists touched
    {%- endif -%}
{%- endmacro %}
