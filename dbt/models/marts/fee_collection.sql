-- Social maintenance fee collection per year (due year) and township (metrics.md, fee_collection): the year's
-- cases as of 31 December.
{%- set flows = fee_flow_columns() %}
with {{ fee_cohort('year') }},

counts as (
    select
        s.*,
        {{ zero_filled(flows) }}
    from {{ ref('int_township_years') }} as s
    {{- flow_joins('s', flows, 'year') }}
),

rated as (
    select
        *,
        {{ fee_rates() }}
    from counts
)

{{ fee_collection_select('township_code') }}
