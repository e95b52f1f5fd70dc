-- 出生登记: the current row of each registration_id across deliveries
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
from {{ source('township', 'births') }}
qualify row_number() over (partition by registration_id order by {{ latest_delivery_order() }}) = 1
