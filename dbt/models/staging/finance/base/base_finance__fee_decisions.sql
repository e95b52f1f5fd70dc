-- Every delivered row of the fee decisions extract (征收决定书), current or not, ranked among the deliveries of its
-- decision_no: the latest reporting month, then the later file name, then the later row is current; the others
-- are superseded (extracts.md). The stg_ model keeps the current rows, int_superseded_rows lists the others.
select
    decision_no,
    respondent_person_key,
    township_code,
    registration_id,
    decided_on,
    amount_assessed,
    amount_statutory,
    reporting_month,
    source_file,
    source_row,
    {{ delivery_ranking() }}
from {{ source('finance', 'fee_decisions') }}
window deliveries as (partition by decision_no order by {{ latest_delivery_order() }})
