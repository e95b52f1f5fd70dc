-- Stocks at the end of December per township and year (the township's December report): registered
-- population and women of childbearing age. No row when the township's December report is missing.
select
    year,
    township_code,
    sum(registered_population) as registered_population,
    sum(women_childbearing_age) as women_childbearing_age
from {{ ref('int_population_reports') }}
where month = 12
group by year, township_code
