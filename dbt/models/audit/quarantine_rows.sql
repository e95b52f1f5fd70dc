-- Every quarantined row: where it is and why (identity fields only as person_key; names never read).
select
    extract,
    source_file,
    reporting_month,
    source_row,
    {{ list_to_string('reasons', "'; '") }} as reasons,
    record
from {{ ref('stg_lake__quarantine') }}
