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

select
    cur.year::integer as year,
    cur.district_code,
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
left join rated as prev on cur.district_code = prev.district_code and cur.year - 1 = prev.year
