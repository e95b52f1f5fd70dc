-- The districts' figures a responsibility target is assessed against (target_attainment), per covered month: the
-- monthly marts' year-to-date rates and counts as of the month's end, and the year's natural growth rate (the
-- yearly mart's; target_attainment takes it in December only).
select
    p.year,
    p.month,
    p.district_code as area_code,
    p.births_ytd,
    p.planned_birth_rate_ytd,
    p.sex_ratio_at_birth_ytd,
    p.registration_coverage_ytd,
    p.prepregnancy_checks_ytd,
    f.filing_rate_ytd,
    f.collection_rate_ytd,
    f.compliance_rate_ytd,
    y.natural_growth_rate_permille as year_natural_growth_rate_permille
from {{ ref('population_indicators_district_monthly') }} as p
inner join {{ ref('fee_collection_district_monthly') }} as f
    on p.year = f.year and p.month = f.month and p.district_code = f.district_code
left join {{ ref('population_indicators_district') }} as y
    on p.year = y.year and p.district_code = y.district_code
