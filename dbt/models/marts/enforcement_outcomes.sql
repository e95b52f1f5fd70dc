-- Enforcement outcomes per year and township (metrics.md, enforcement_outcomes), from the current state of
-- every case. Measures count in the year of their own date, in the case's township.
with applications as (
    select
        year(applied_on) as year,
        township_code,
        count(*) as court_applications,
        count(*) filter (where status = '不予执行') as court_rejections
    from {{ ref('stg_court__enforcement_cases') }}
    group by all
),

measures as (
    select
        measure_year as year,
        township_code,
        sum(amount) filter (where measure_type = '冻结存款') as deposits_frozen_amount,
        sum(amount) filter (where measure_type = '划拨存款') as deposits_transferred_amount,
        count(*) filter (where measure_type = '司法拘留') as judicial_detentions
    from {{ ref('int_enforcement_measures') }}
    group by all
),

liangfei as (
    select
        year(opened_on) as year,
        township_code,
        count(*) as liangfei_cases,
        count(*) filter (where den_destroyed) as liangfei_dens_destroyed,
        sum(admin_fine) as liangfei_admin_fines,
        sum(rebirth_permits_cancelled) as liangfei_permits_cancelled,
        sum(criminal_detentions) as liangfei_criminal_detentions,
        sum(sentenced) as liangfei_sentenced
    from {{ ref('stg_court__liangfei_cases') }}
    group by all
),

counts as (
    select
        s.year,
        s.district_code,
        s.township_code,
        s.township_name,
        coalesce(a.court_applications, 0) as court_applications,
        coalesce(a.court_rejections, 0) as court_rejections,
        coalesce(m.deposits_frozen_amount, 0) as deposits_frozen_amount,
        coalesce(m.deposits_transferred_amount, 0) as deposits_transferred_amount,
        coalesce(m.deposits_frozen_amount, 0) + coalesce(m.deposits_transferred_amount, 0) as deposits_amount,
        coalesce(m.judicial_detentions, 0) as judicial_detentions,
        coalesce(l.liangfei_cases, 0) as liangfei_cases,
        coalesce(l.liangfei_dens_destroyed, 0) as liangfei_dens_destroyed,
        coalesce(l.liangfei_admin_fines, 0) as liangfei_admin_fines,
        coalesce(l.liangfei_permits_cancelled, 0) as liangfei_permits_cancelled,
        coalesce(l.liangfei_criminal_detentions, 0) as liangfei_criminal_detentions,
        coalesce(l.liangfei_sentenced, 0) as liangfei_sentenced
    from {{ ref('int_township_years') }} as s
    left join applications as a on s.year = a.year and s.township_code = a.township_code
    left join measures as m on s.year = m.year and s.township_code = m.township_code
    left join liangfei as l on s.year = l.year and s.township_code = l.township_code
)

{{ enforcement_outcomes_select('township_code') }}
