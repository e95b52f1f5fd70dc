select
    township_code,
    township_name,
    township_type,
    left(township_code, 6) as district_code
from {{ source('reference', 'townships') }}
