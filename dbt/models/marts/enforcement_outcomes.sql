-- Enforcement outcomes per year and township (metrics.md, enforcement_outcomes), from the current state of
-- every case. Measures count in the year of their own date, in the case's township.
{%- set flows = enforcement_flow_columns() %}
with {{ enforcement_flows('year') }},

counts as (
    select
        s.*,
        {{ zero_filled(flows) }}
    from {{ ref('int_township_years') }} as s
    {{- flow_joins('s', flows, 'year') }}
)

{{ enforcement_outcomes_select('township_code') }}
