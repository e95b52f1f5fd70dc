-- Fee decisions (征收决定书): the current delivery of each decision_no (ranked in base_finance__fee_decisions)
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
from {{ ref('base_finance__fee_decisions') }}
where is_current
