-- Every delivered row of the pre-pregnancy checks extract (孕前优生健康检查), current or not, ranked among the deliveries of its
-- check_id: the latest reporting month, then the later file name, then the later row is current; the others
-- are superseded (extracts.md). The stg_ model keeps the current rows, int_superseded_rows lists the others.
select
    check_id,
    woman_person_key,
    village_code,
    checked_on,
    risk_level,
    reporting_month,
    source_file,
    source_row,
    {{ delivery_ranking() }}
from {{ source('hospital', 'prepregnancy_checks') }}
window deliveries as (partition by check_id order by {{ latest_delivery_order() }})
