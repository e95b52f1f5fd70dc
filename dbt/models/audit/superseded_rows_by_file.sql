-- Superseded rows counted by extract, file and the file that superseded them.
select
    extract,
    source_file,
    reporting_month,
    superseded_by_file,
    count(*) as rows_superseded
from {{ ref('superseded_rows') }}
group by all
