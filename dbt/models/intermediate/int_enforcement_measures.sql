-- Measures of the current state of every enforcement case, each in the year of its own date and in the
-- case's township; a NULL amount counts as 0.
select
    c.case_no,
    c.township_code,
    m.measure_type,
    m.measured_on,
    year(m.measured_on) as measure_year,
    coalesce(m.amount, 0)::decimal(18, 2) as amount,
    m.days
from {{ ref('stg_court__enforcement_cases') }} as c,
    unnest(c.measures) as u (m)
