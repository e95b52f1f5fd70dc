with counts as (
    select
        year,
        district_code,
        sum(cases_due) as cases_due,
        sum(cases_filed) as cases_filed,
        sum(cases_compliant) as cases_compliant,
        sum(amount_assessed) as amount_assessed,
        sum(amount_collected) as amount_collected
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
