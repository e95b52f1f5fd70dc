select
    station_code,
    station_name,
    township_code,
    level,
    standardized = '是' as is_standardized,
    sanyou_center,
    cast(opened_on as date) as opened_on,
    cast(nullif(closed_on, '') as date) as closed_on
from {{ source('reference', 'service_stations') }}
