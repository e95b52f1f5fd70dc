-- Every delivered record of a enforcement case (非诉执行), current or not. A case is sent again whenever it changes:
-- its current state (is_current) is the record with the latest updated_at, compared as instants; a tie goes to the
-- later reporting month, then the later line. A record's key is case_no + updated_at (extracts.md): among the copies
-- of one record, the latest reporting month, then the later file name, then the later row is current
-- (delivery_rank 1) and the others are superseded (listed by int_superseded_rows).
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
    source_file,
    source_row,
    row_number() over copies as delivery_rank,
    first_value(source_file) over copies as current_file,
    first_value(source_row) over copies as current_row,
    row_number() over (
        partition by case_no order by updated_at desc, reporting_month desc, source_row desc
    ) = 1 as is_current
from {{ source('court', 'enforcement_cases') }}
window copies as (partition by case_no, updated_at order by {{ latest_delivery_order() }})
