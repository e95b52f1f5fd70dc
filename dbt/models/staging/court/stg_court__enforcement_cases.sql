-- The current state of each enforcement case: the record with the latest updated_at (compared as instants);
-- a tie goes to the later reporting month, then the later line (extracts.md).
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
from {{ source('court', 'enforcement_cases') }}
qualify row_number() over (
    partition by case_no order by updated_at desc, reporting_month desc, source_row desc
) = 1
