-- The grain of village_indicators: every reference village in every covered year, i.e. the villages of each
-- township's years (a village of no reference township has none).
select
    t.year,
    t.district_code,
    v.township_code,
    v.village_code,
    v.village_name
from {{ ref('int_township_years') }} as t
inner join {{ ref('stg_reference__villages') }} as v on t.township_code = v.township_code
