-- Fee payments (缴款): the current delivery of each receipt_no (ranked in base_finance__fee_payments)
select
    receipt_no,
    decision_no,
    paid_on,
    amount_paid,
    channel,
    reporting_month,
    source_file
from {{ ref('base_finance__fee_payments') }}
where is_current
