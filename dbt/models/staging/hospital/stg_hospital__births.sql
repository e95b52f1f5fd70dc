-- Hospital births (出生医学证明): the current delivery of each birth_certificate_no (ranked in base_hospital__births)
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
from {{ ref('base_hospital__births') }}
where is_current
