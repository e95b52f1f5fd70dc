-- Quarantined rows counted by file and reason (a row with several reasons counts under each).
select
    q.extract,
    q.source_file,
    q.reporting_month,
    r.reason,
    count(*) as rows_quarantined,
    min(q.source_row) as first_row,
    {{ sorted_list_head('q.source_row', 20) }} as example_rows
from {{ ref('stg_lake__quarantine') }} as q,
    {{ unnest_table('q.reasons', 'r', 'reason') }}
group by all
