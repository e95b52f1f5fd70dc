select
    check_id,
    woman_person_key,
    village_code,
    checked_on,
    risk_level,
    risk_level = '高风险人群' as is_high_risk,
    reporting_month,
    source_file
from {{ source('hospital', 'prepregnancy_checks') }}
qualify row_number() over (partition by check_id order by {{ latest_delivery_order() }}) = 1
