-- Social maintenance fee collection per month and township (metrics.md, "Monthly supervision"): the year's cohort
-- as of the month's last day (cases registered from 1 January to that day; filed, compliant and collected by it),
-- with fee_collection's rates. December is fee_collection.
{%- set flows = fee_flow_columns() %}
with {{ fee_cohort('month') }},

counts as (
    select
        s.*,
        {{ zero_filled(flows) }}
    from {{ ref('int_township_months') }} as s
    {{- flow_joins('s', flows, 'month') }}
),

{{ monthly_mart('township_code', flow_columns(flows), fee_rate_formulas(), cumulative=false) }}
