-- The grain of the township marts: every reference township in every covered year.
select
    y.year,
    t.district_code,
    t.township_code,
    t.township_name
from {{ ref('int_covered_years') }} as y
cross join {{ ref('stg_reference__townships') }} as t
