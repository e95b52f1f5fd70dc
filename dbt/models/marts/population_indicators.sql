-- Population indicators per year and township (metrics.md, population_indicators). Residents only.
{%- set flows = population_flow_columns('year') %}
with {{ population_flows('year') }},

december as (
    select
        year,
        township_code,
        registered_population as population_end
    from {{ ref('int_township_december_reports') }}
),

villages as (
    select
        township_code,
        count(*) as villages_total
    from {{ ref('stg_reference__villages') }}
    group by all
),

counts as (
    select
        s.*,
        {{ zero_filled(flows) }},
        ds.population_end as population_start,
        de.population_end,
        coalesce(v.villages_total, 0) as villages_total
    from {{ ref('int_township_years') }} as s
    {{- flow_joins('s', flows, 'year') }}
    left join december as ds on {{ previous_year('s', 'ds', 'year') }}
    left join december as de on {{ same_period('s', 'de', 'year') }}
    left join villages as v on s.township_code = v.township_code
),

{{ population_indicators_mart('township_code') }}
