with counts as (
    select
        year,
        district_code,
        {{ sums(flow_columns(enforcement_flow_columns())) }}
    from {{ ref('enforcement_outcomes') }}
    group by year, district_code
)

{{ enforcement_outcomes_select('district_code') }}
