select
    hospital_code,
    hospital_name,
    township_code
from {{ source('reference', 'hospitals') }}
