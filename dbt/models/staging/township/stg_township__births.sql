-- 出生登记: the current row of each registration_id across deliveries (ranked in base_township__births)
select
    registration_id,
    village_code,
    left(village_code, 9) as township_code,
    mother_person_key,
    mother_hukou,
    birth_date,
    sex,
    birth_order,
    policy_status,
    registered_on,
    reporting_month,
    source_file,
    source_row
from {{ ref('base_township__births') }}
where is_current
