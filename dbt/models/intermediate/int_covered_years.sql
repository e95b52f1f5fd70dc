-- A mart covers the calendar years whose 12 months all have a folder in the landing zone (for any agency).
select year
from {{ ref('stg_lake__landing_months') }}
group by year
having count(distinct reporting_month) = 12
