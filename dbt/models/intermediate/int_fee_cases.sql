-- Fee cases (social maintenance fee) as of 31 December of their due year: the December cut of int_fee_case_months
-- (unplanned registrations of mothers registered in the district, 本区, due in the year of registered_on, in the
-- township of the registration's village; filed, compliant and collected by 31 December).
select
    registration_id,
    township_code,
    due_year,
    decision_no,
    decided_on,
    amount_assessed,
    amount_statutory,
    is_filed,
    is_compliant,
    amount_collected as amount_collected_by_year_end
from {{ ref('int_fee_case_months') }}
where month = 12
