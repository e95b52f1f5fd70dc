-- Stocks at the end of each month per township (the township's report of the month): registered population and
-- women of childbearing age. No row when the township's report of the month is missing: its stocks are NULL in
-- the marts.
select
    year,
    month,
    township_code,
    sum(registered_population) as registered_population,
    sum(women_childbearing_age) as women_childbearing_age
from {{ ref('int_population_reports') }}
group by year, month, township_code
