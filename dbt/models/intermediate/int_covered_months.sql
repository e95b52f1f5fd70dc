-- The months of the monthly marts (metrics.md, "Monthly supervision"): the 12 months of every covered year and, when
-- the latest year with a month folder (for any agency) is not covered, its months from January to the latest one
-- with a folder (the year to date).
with landing as (
    select
        year,
        cast(right(reporting_month, 2) as integer) as month
    from {{ ref('stg_lake__landing_months') }}
),

year_to_date as (
    select
        year,
        max(month) as last_month
    from landing
    where
        year = (select max(l.year) from landing as l)
        and year not in (select c.year from {{ ref('int_covered_years') }} as c)
    group by year
)

select
    c.year,
    m.month
from {{ ref('int_covered_years') }} as c
cross join {{ month_numbers('m') }}
union all
select
    y.year,
    m.month
from year_to_date as y
inner join {{ month_numbers('m') }} on y.last_month >= m.month
