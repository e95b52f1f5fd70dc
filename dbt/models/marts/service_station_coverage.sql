-- Service stations active on 31 December of the year, per township (metrics.md, service_station_coverage).
{%- set flows = {'stations': station_counts()} %}
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
        s.*,
        {{ zero_filled(flows) }},
        w.women_childbearing_age
    from {{ ref('int_township_years') }} as s
    {{- flow_joins('s', flows, 'year') }}
    left join women as w on {{ same_period('s', 'w', 'year') }}
)

select
    {{ station_coverage_columns('township_code') }},
    c.stations_total > 0 as has_station
from counts as c
