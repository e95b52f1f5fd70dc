select
    receipt_no,
    decision_no,
    paid_on,
    amount_paid,
    channel,
    reporting_month,
    source_file
from {{ source('finance', 'fee_payments') }}
qualify row_number() over (partition by receipt_no order by {{ latest_delivery_order() }}) = 1
