-- The village drill-down: births, unplanned births, women of childbearing age (December) and the village's
-- class of the year (the latest report of it; NULL when not reported).
with births as (
    select
        birth_year as year,
        village_code,
        count(*) as births,
        count(*) filter (where policy_status = '政策外') as births_unplanned
    from {{ ref('int_registrations') }}
    where is_resident
    group by all
),

december as (
    select
        year,
        village_code,
        women_childbearing_age
    from {{ ref('int_population_reports') }}
    where month = 12
)

select
    s.year::integer as year,
    s.district_code,
    s.township_code,
    s.village_code,
    s.village_name,
    c.village_class,
    coalesce(b.births, 0)::bigint as births,
    coalesce(b.births_unplanned, 0)::bigint as births_unplanned,
    d.women_childbearing_age::bigint as women_childbearing_age
from {{ ref('int_village_years') }} as s
left join births as b on s.year = b.year and s.village_code = b.village_code
left join december as d on s.year = d.year and s.village_code = d.village_code
left join {{ ref('stg_township__village_classes') }} as c on s.year = c.year and s.village_code = c.village_code
