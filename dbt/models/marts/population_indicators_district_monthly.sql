-- District population indicators per month: flows and stocks summed over townships (a stock is NULL when any
-- township's is), the year to date and its rates recomputed from the district's sums (never averaged).
{%- set columns = flow_columns(population_flow_columns('month')) %}
with counts as (
    select
        year,
        month,
        district_code,
        {{ sums(columns) }},
        {{ sum_stock('population_end') }} as population_end,
        {{ sum_stock('women_childbearing_age') }} as women_childbearing_age
    from {{ ref('population_indicators_monthly') }}
    group by year, month, district_code
),

{{ monthly_mart('district_code', columns, population_rate_formulas('month'), population_stocks(), ['births']) }}
