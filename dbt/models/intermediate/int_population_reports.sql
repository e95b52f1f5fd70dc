-- Village month-end reports of the reference villages. A township's report for a month is present when any of
-- its villages has a row for that month; stocks of a missing report are NULL in the marts.
select p.*
from {{ ref('stg_township__population') }} as p
inner join {{ ref('stg_reference__villages') }} as v on p.village_code = v.village_code
