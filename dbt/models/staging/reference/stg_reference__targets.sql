-- The responsibility targets (目标管理责任书), one row a valid target (ingestion quarantined the others): the
-- area's level and its parent, whose areas it is ranked among (a township's district; a district's city).
select
    year::integer as year,
    area_code,
    case when length(area_code) = 6 then 'district' else 'township' end as area_level,
    case when length(area_code) = 6 then left(area_code, 4) else left(area_code, 6) end as parent_code,
    indicator,
    bound,
    target::double as target,
    points::integer as points
from {{ source('reference', 'targets') }}
