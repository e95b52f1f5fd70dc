select
    y.year,
    t.district_code,
    v.township_code,
    v.village_code,
    v.village_name
from {{ ref('int_covered_years') }} as y
cross join {{ ref('stg_reference__villages') }} as v
inner join {{ ref('stg_reference__townships') }} as t on v.township_code = t.township_code
