-- 人口变动: month-end population of each village, one row per village and reporting month
select
    village_code,
    left(village_code, 9) as township_code,
    reporting_month,
    cast(left(reporting_month, 4) as integer) as year,
    cast(right(reporting_month, 2) as integer) as month,
    registered_population,
    deaths,
    women_childbearing_age,
    source_file
from {{ source('township', 'population') }}
qualify row_number() over (partition by village_code, reporting_month order by {{ latest_delivery_order() }}) = 1
