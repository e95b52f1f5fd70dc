-- Stations active on 31 December of each covered year: opened_on <= that day, closed_on empty or after it.
select
    y.year,
    s.*
from {{ ref('int_covered_years') }} as y
inner join {{ ref('stg_reference__service_stations') }} as s
    on
        s.opened_on <= make_date(y.year, 12, 31)
        and (s.closed_on is null or s.closed_on > make_date(y.year, 12, 31))
