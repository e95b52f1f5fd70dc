-- Unmatched links counted by link and file: what BI users see (the rows themselves are in the data team's file).
select
    link,
    extract,
    source_file,
    count(*) as records
from {{ ref('unmatched_links') }}
group by all
