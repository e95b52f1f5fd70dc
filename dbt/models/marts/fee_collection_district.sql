with counts as (
    select
        year,
        district_code,
        {{ sums(flow_columns(fee_flow_columns())) }}
    from {{ ref('fee_collection') }}
    group by year, district_code
),

rated as (
    select
        *,
        {{ fee_rates() }}
    from counts
)

{{ fee_collection_select('district_code') }}
