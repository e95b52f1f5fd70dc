-- Stocks at the end of December per township and year (the township's December report): registered
-- population and women of childbearing age. No row when the township's December report is missing.
select
    year,
    township_code,
    registered_population,
    women_childbearing_age
from {{ ref('int_township_month_reports') }}
where month = 12
