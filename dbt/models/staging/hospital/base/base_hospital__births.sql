-- Every delivered row of the hospital births extract (出生医学证明), current or not, ranked among the deliveries of its
-- birth_certificate_no: the latest reporting month, then the later file name, then the later row is current; the others
-- are superseded (extracts.md). The stg_ model keeps the current rows, int_superseded_rows lists the others.
select
    birth_certificate_no,
    hospital_code,
    mother_person_key,
    village_code,
    birth_date,
    sex,
    birth_weight_g,
    gestation_weeks,
    birth_defect,
    reporting_month,
    source_file,
    source_row,
    {{ delivery_ranking() }}
from {{ source('hospital', 'births') }}
window deliveries as (partition by birth_certificate_no order by {{ latest_delivery_order() }})
