select
    village_code,
    village_name,
    township_code,
    village_type
from {{ source('reference', 'villages') }}
