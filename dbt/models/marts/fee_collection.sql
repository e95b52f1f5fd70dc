-- Social maintenance fee collection per year (due year) and township (metrics.md, fee_collection).
with cases as (
    select
        due_year as year,
        township_code,
        count(*) as cases_due,
        count(*) filter (where is_filed) as cases_filed,
        count(*) filter (where is_compliant) as cases_compliant,
        coalesce(sum(amount_assessed) filter (where is_filed), 0) as amount_assessed,
        coalesce(sum(amount_collected_by_year_end) filter (where is_filed), 0) as amount_collected
    from {{ ref('int_fee_cases') }}
    group by all
),

counts as (
    select
        s.year,
        s.district_code,
        s.township_code,
        s.township_name,
        coalesce(c.cases_due, 0) as cases_due,
        coalesce(c.cases_filed, 0) as cases_filed,
        coalesce(c.cases_compliant, 0) as cases_compliant,
        coalesce(c.amount_assessed, 0) as amount_assessed,
        coalesce(c.amount_collected, 0) as amount_collected
    from {{ ref('int_township_years') }} as s
    left join cases as c on s.year = c.year and s.township_code = c.township_code
),

rated as (
    select
        *,
        {{ fee_rates() }}
    from counts
)

{{ fee_collection_select('township_code') }}
