-- The current state of each 两非 case (latest updated_at; ties: later reporting month, then later line)
select
    case_no,
    opened_on,
    township_code,
    kind,
    den_destroyed,
    admin_fine,
    rebirth_permits_cancelled,
    criminal_detentions,
    sentenced,
    status,
    updated_at,
    reporting_month,
    source_file
from {{ source('court', 'liangfei_cases') }}
qualify row_number() over (
    partition by case_no order by updated_at desc, reporting_month desc, source_row desc
) = 1
