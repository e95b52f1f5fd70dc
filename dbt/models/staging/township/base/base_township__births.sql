-- Every delivered row of the 出生登记 extract (township birth registrations), current or not, ranked among the deliveries of its
-- registration_id: the latest reporting month, then the later file name, then the later row is current; the others
-- are superseded (extracts.md). The stg_ model keeps the current rows, int_superseded_rows lists the others.
select
    registration_id,
    village_code,
    mother_person_key,
    mother_hukou,
    birth_date,
    sex,
    birth_order,
    policy_status,
    registered_on,
    reporting_month,
    source_file,
    source_row,
    {{ delivery_ranking() }}
from {{ source('township', 'births') }}
window deliveries as (partition by registration_id order by {{ latest_delivery_order() }})
