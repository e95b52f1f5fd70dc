-- Pre-pregnancy checks: the current delivery of each check_id (ranked in base_hospital__prepregnancy_checks)
select
    check_id,
    woman_person_key,
    village_code,
    checked_on,
    risk_level,
    risk_level = '高风险人群' as is_high_risk,
    reporting_month,
    source_file
from {{ ref('base_hospital__prepregnancy_checks') }}
where is_current
