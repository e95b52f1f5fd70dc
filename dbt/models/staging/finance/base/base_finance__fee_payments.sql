-- Every delivered row of the fee payments extract (缴款), current or not, ranked among the deliveries of its
-- receipt_no: the latest reporting month, then the later file name, then the later row is current; the others
-- are superseded (extracts.md). The stg_ model keeps the current rows, int_superseded_rows lists the others.
select
    receipt_no,
    decision_no,
    paid_on,
    amount_paid,
    channel,
    reporting_month,
    source_file,
    source_row,
    {{ delivery_ranking() }}
from {{ source('finance', 'fee_payments') }}
window deliveries as (partition by receipt_no order by {{ latest_delivery_order() }})
