-- Population indicators per year and township (metrics.md, population_indicators). Residents only.
with spine as (
    select * from {{ ref('int_township_years') }}
),

registrations as (
    select
        birth_year as year,
        township_code,
        count(*) as births,
        count(*) filter (where policy_status = '政策外') as births_unplanned,
        count(*) filter (where sex = '男') as boys,
        count(*) filter (where sex = '女') as girls,
        count(distinct village_code) filter (where policy_status = '政策外') as villages_with_unplanned
    from {{ ref('int_registrations') }}
    where is_resident
    group by all
),

deaths as (
    select
        year,
        township_code,
        sum(deaths) as deaths
    from {{ ref('int_population_reports') }}
    group by all
),

december as (
    select
        year,
        township_code,
        registered_population as population_end
    from {{ ref('int_township_december_reports') }}
),

villages as (
    select
        township_code,
        count(*) as villages_total
    from {{ ref('stg_reference__villages') }}
    group by all
),

hospital as (
    select
        birth_year as year,
        township_code,
        count(*) as hospital_births,
        count(*) filter (where is_registered) as hospital_births_registered,
        count(*) filter (where has_birth_defect) as birth_defects
    from {{ ref('int_hospital_births_matched') }}
    where is_resident
    group by all
),

checks as (
    select
        year(c.checked_on) as year,
        v.township_code,
        count(*) as prepregnancy_checks,
        count(*) filter (where c.is_high_risk) as prepregnancy_high_risk
    from {{ ref('stg_hospital__prepregnancy_checks') }} as c
    inner join {{ ref('stg_reference__villages') }} as v on c.village_code = v.village_code
    group by all
),

counts as (
    select
        s.year,
        s.district_code,
        s.township_code,
        s.township_name,
        coalesce(r.births, 0) as births,
        coalesce(r.births_unplanned, 0) as births_unplanned,
        coalesce(r.boys, 0) as boys,
        coalesce(r.girls, 0) as girls,
        coalesce(d.deaths, 0) as deaths,
        ds.population_end as population_start,
        de.population_end,
        coalesce(v.villages_total, 0) as villages_total,
        coalesce(r.villages_with_unplanned, 0) as villages_with_unplanned,
        coalesce(h.hospital_births, 0) as hospital_births,
        coalesce(h.hospital_births_registered, 0) as hospital_births_registered,
        coalesce(h.birth_defects, 0) as birth_defects,
        coalesce(c.prepregnancy_checks, 0) as prepregnancy_checks,
        coalesce(c.prepregnancy_high_risk, 0) as prepregnancy_high_risk
    from spine as s
    left join registrations as r on s.year = r.year and s.township_code = r.township_code
    left join deaths as d on s.year = d.year and s.township_code = d.township_code
    left join december as ds on s.year - 1 = ds.year and s.township_code = ds.township_code
    left join december as de on s.year = de.year and s.township_code = de.township_code
    left join villages as v on s.township_code = v.township_code
    left join hospital as h on s.year = h.year and s.township_code = h.township_code
    left join checks as c on s.year = c.year and s.township_code = c.township_code
),

rated as (
    select
        *,
        {{ population_rates() }}
    from counts
)

{{ population_indicators_select('township_code') }}
