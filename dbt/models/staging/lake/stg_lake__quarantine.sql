select
    extract,
    source_file,
    reporting_month,
    source_row,
    reasons,
    record
from {{ source('lake', 'quarantine') }}
