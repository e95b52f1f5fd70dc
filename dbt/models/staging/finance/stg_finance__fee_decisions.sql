select
    decision_no,
    respondent_person_key,
    township_code,
    registration_id,
    decided_on,
    amount_assessed,
    amount_statutory,
    reporting_month,
    source_file
from {{ source('finance', 'fee_decisions') }}
qualify row_number() over (partition by decision_no order by {{ latest_delivery_order() }}) = 1
