-- The grain of the monthly township marts: every month of int_covered_months for every reference township.
select
    m.year,
    m.month,
    t.*
from {{ ref('int_covered_months') }} as m
cross join {{ ref('stg_reference__townships') }} as t
