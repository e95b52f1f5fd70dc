-- 村居分类: a village's class for a year; the latest reporting month wins
select
    village_code,
    year,
    village_class,
    reporting_month,
    source_file
from {{ source('township', 'village_classes') }}
qualify row_number() over (partition by village_code, year order by {{ latest_delivery_order() }}) = 1
