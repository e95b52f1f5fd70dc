-- Enforcement outcomes per month and township (metrics.md, "Monthly supervision"): enforcement_outcomes' flows
-- (macros/enforcement.sql) in a month's window, the year to date, and the same period of the previous year.
{%- set flows = enforcement_flow_columns() %}
with {{ enforcement_flows('month') }},

counts as (
    select
        s.*,
        {{ zero_filled(flows) }}
    from {{ ref('int_township_months') }} as s
    {{- flow_joins('s', flows, 'month') }}
),

{{ monthly_mart('township_code', flow_columns(flows), growth=enforcement_growth()) }}
