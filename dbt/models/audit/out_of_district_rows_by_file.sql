-- Valid rows of another district (or of no known township), counted by extract and file.
select
    extract,
    source_file,
    count(*) as records,
    count(distinct code) as distinct_codes
from {{ ref('out_of_district_rows') }}
group by all
