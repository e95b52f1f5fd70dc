select
    birth_certificate_no,
    hospital_code,
    mother_person_key,
    village_code,
    birth_date,
    sex,
    birth_weight_g,
    gestation_weeks,
    birth_defect = '有' as has_birth_defect,
    reporting_month,
    source_file
from {{ source('hospital', 'births') }}
qualify row_number() over (partition by birth_certificate_no order by {{ latest_delivery_order() }}) = 1
