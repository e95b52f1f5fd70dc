-- District population indicators: counts and stocks summed over townships, rates recomputed from the sums
-- (never averaged). A stock is NULL when any township's is missing.
with counts as (
    select
        year,
        district_code,
        {{ sums(flow_columns(population_flow_columns('year'))) }},
        {{ sum_stock('population_start') }} as population_start,
        {{ sum_stock('population_end') }} as population_end,
        sum(villages_total) as villages_total,
        count(*) as townships_total
    from {{ ref('population_indicators') }}
    group by year, district_code
),

rated as (
    select
        *,
        {{ population_rates() }}
    from counts
)

{{ population_indicators_select('district_code') }}
