-- Township birth registrations with their area; residents are those whose village is in the reference data.
select
    b.*,
    year(b.birth_date) as birth_year,
    year(b.registered_on) as registration_year,
    v.village_code is not null as is_resident
from {{ ref('stg_township__births') }} as b
left join {{ ref('stg_reference__villages') }} as v on b.village_code = v.village_code
