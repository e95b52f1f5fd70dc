-- The current state of each enforcement case: the record with the latest updated_at (compared as instants);
-- a tie goes to the later reporting month, then the later line (extracts.md; ranked in base_court__enforcement_cases).
select
    case_no,
    applied_on,
    decision_no,
    respondent_person_key,
    township_code,
    amount_applied,
    status,
    measures,
    updated_at,
    reporting_month,
    source_file
from {{ ref('base_court__enforcement_cases') }}
where is_current
