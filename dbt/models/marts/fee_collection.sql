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

select
    cur.year::integer as year,
    cur.district_code,
    cur.township_code,
    cur.township_name,
    cur.cases_due::bigint as cases_due,
    cur.cases_filed::bigint as cases_filed,
    cur.filing_rate,
    cur.amount_assessed::decimal(18, 2) as amount_assessed,
    cur.amount_collected::decimal(18, 2) as amount_collected,
    cur.collection_rate,
    cur.cases_compliant::bigint as cases_compliant,
    cur.compliance_rate,
    cur.filing_rate - prev.filing_rate as filing_rate_yoy_pp,
    cur.collection_rate - prev.collection_rate as collection_rate_yoy_pp,
    cur.compliance_rate - prev.compliance_rate as compliance_rate_yoy_pp
from rated as cur
left join rated as prev on cur.township_code = prev.township_code and cur.year - 1 = prev.year
