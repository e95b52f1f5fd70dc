-- Measures of the current state of every enforcement case, each in the year of its own date and in the
-- case's township; a NULL amount counts as 0. measure_no is the measure's place in the case's list (from 1): two
-- measures of a case may be alike in every field.
with exploded as (
    select
        c.case_no,
        c.township_code,
        {{ unnest_with_position('c.measures', 'measure', 'measure_no') }}
    from {{ ref('stg_court__enforcement_cases') }} as c
)

select
    case_no,
    measure_no,
    township_code,
    {{ struct_field('measure', 'measure_type') }} as measure_type,
    {{ struct_field('measure', 'measured_on') }} as measured_on,
    year({{ struct_field('measure', 'measured_on') }}) as measure_year,
    coalesce({{ struct_field('measure', 'amount') }}, 0)::decimal(18, 2) as amount,
    {{ struct_field('measure', 'days') }} as days
from exploded
