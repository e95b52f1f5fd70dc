select distinct
    agency,
    reporting_month,
    cast(left(reporting_month, 4) as integer) as year
from {{ source('lake', 'landing_months') }}
