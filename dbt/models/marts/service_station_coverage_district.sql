with counts as (
    select
        year,
        district_code,
        sum(stations_central) as stations_central,
        sum(stations_level1) as stations_level1,
        sum(stations_level2) as stations_level2,
        sum(stations_total) as stations_total,
        sum(stations_standardized) as stations_standardized,
        sum(sanyou_centers_provincial) as sanyou_centers_provincial,
        sum(sanyou_centers_district) as sanyou_centers_district,
        {{ sum_stock('women_childbearing_age') }} as women_childbearing_age,
        count(*) as townships_total,
        count(*) filter (where has_station) as townships_with_station
    from {{ ref('service_station_coverage') }}
    group by year, district_code
)

select
    year::integer as year,
    district_code,
    stations_central::bigint as stations_central,
    stations_level1::bigint as stations_level1,
    stations_level2::bigint as stations_level2,
    stations_total::bigint as stations_total,
    stations_standardized::bigint as stations_standardized,
    sanyou_centers_provincial::bigint as sanyou_centers_provincial,
    sanyou_centers_district::bigint as sanyou_centers_district,
    women_childbearing_age::bigint as women_childbearing_age,
    {{ station_rates() }},
    townships_total::bigint as townships_total,
    townships_with_station::bigint as townships_with_station,
    {{ pct('townships_with_station', 'townships_total') }} as township_coverage
from counts
