-- The current state of each 两非 case (latest updated_at; ties: later reporting month, then later line), as ranked
-- in base_court__liangfei_cases
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
from {{ ref('base_court__liangfei_cases') }}
where is_current
