-- The grain of the monthly township marts: every reference township in every month of int_covered_months.
select
    t.district_code,
    t.township_code,
    t.township_name,
    m.year,
    m.month
from {{ ref('stg_reference__townships') }} as t
cross join {{ ref('int_covered_months') }} as m
