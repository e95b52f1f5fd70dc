-- Service stations active on 31 December of the year, per township (metrics.md, service_station_coverage).
with stations as (
    select
        year,
        township_code,
        count(*) filter (where level = '中心站') as stations_central,
        count(*) filter (where level = '一级站') as stations_level1,
        count(*) filter (where level = '二级站') as stations_level2,
        count(*) as stations_total,
        count(*) filter (where is_standardized) as stations_standardized,
        count(*) filter (where sanyou_center = '省级') as sanyou_centers_provincial,
        count(*) filter (where sanyou_center = '区级') as sanyou_centers_district
    from {{ ref('int_station_years') }}
    group by all
),

women as (
    select
        year,
        township_code,
        women_childbearing_age
    from {{ ref('int_township_december_reports') }}
),

counts as (
    select
        s.year,
        s.district_code,
        s.township_code,
        s.township_name,
        coalesce(st.stations_central, 0) as stations_central,
        coalesce(st.stations_level1, 0) as stations_level1,
        coalesce(st.stations_level2, 0) as stations_level2,
        coalesce(st.stations_total, 0) as stations_total,
        coalesce(st.stations_standardized, 0) as stations_standardized,
        coalesce(st.sanyou_centers_provincial, 0) as sanyou_centers_provincial,
        coalesce(st.sanyou_centers_district, 0) as sanyou_centers_district,
        w.women_childbearing_age
    from {{ ref('int_township_years') }} as s
    left join stations as st on s.year = st.year and s.township_code = st.township_code
    left join women as w on s.year = w.year and s.township_code = w.township_code
)

select
    year::integer as year,
    district_code,
    township_code,
    township_name,
    stations_central::bigint as stations_central,
    stations_level1::bigint as stations_level1,
    stations_level2::bigint as stations_level2,
    stations_total::bigint as stations_total,
    stations_standardized::bigint as stations_standardized,
    sanyou_centers_provincial::bigint as sanyou_centers_provincial,
    sanyou_centers_district::bigint as sanyou_centers_district,
    women_childbearing_age::bigint as women_childbearing_age,
    {{ station_rates() }},
    stations_total > 0 as has_station
from counts
