with counts as (
    select
        year,
        district_code,
        sum(court_applications) as court_applications,
        sum(court_rejections) as court_rejections,
        sum(deposits_frozen_amount) as deposits_frozen_amount,
        sum(deposits_transferred_amount) as deposits_transferred_amount,
        sum(deposits_amount) as deposits_amount,
        sum(judicial_detentions) as judicial_detentions,
        sum(liangfei_cases) as liangfei_cases,
        sum(liangfei_dens_destroyed) as liangfei_dens_destroyed,
        sum(liangfei_admin_fines) as liangfei_admin_fines,
        sum(liangfei_permits_cancelled) as liangfei_permits_cancelled,
        sum(liangfei_criminal_detentions) as liangfei_criminal_detentions,
        sum(liangfei_sentenced) as liangfei_sentenced
    from {{ ref('enforcement_outcomes') }}
    group by year, district_code
)

{{ enforcement_outcomes_select('district_code') }}
