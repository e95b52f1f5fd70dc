-- Population indicators per month and township (metrics.md, "Monthly supervision"): the month's flows, the year to
-- date and its rates, the stocks at the month's end, and the same period of the previous year. The flows and rates
-- are population_indicators' (macros/population.sql, macros/indicators.sql) in a month's window. Residents only.
{%- set flows = population_flow_columns('month') %}
with {{ population_flows('month') }},

month_end as (
    select
        year,
        month,
        township_code,
        registered_population as population_end,
        women_childbearing_age
    from {{ ref('int_township_month_reports') }}
),

counts as (
    select
        s.*,
        {{ zero_filled(flows) }},
        e.population_end,
        e.women_childbearing_age
    from {{ ref('int_township_months') }} as s
    {{- flow_joins('s', flows, 'month') }}
    left join month_end as e on {{ same_period('s', 'e', 'month') }}
),

{{ monthly_mart(
    'township_code', flow_columns(flows), population_rate_formulas('month'), population_stocks(), ['births']
) }}
