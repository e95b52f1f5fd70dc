with counts as (
    select
        year,
        district_code,
        {{ sums(station_counts()) }},
        {{ sum_stock('women_childbearing_age') }} as women_childbearing_age,
        count(*) as townships_total,
        count(*) filter (where has_station) as townships_with_station
    from {{ ref('service_station_coverage') }}
    group by year, district_code
)

select
    {{ station_coverage_columns('district_code') }},
    c.townships_total::bigint as townships_total,
    c.townships_with_station::bigint as townships_with_station,
    {{ pct('c.townships_with_station', 'c.townships_total') }} as township_coverage
from counts as c
