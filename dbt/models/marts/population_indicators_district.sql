-- District population indicators: counts and stocks summed over townships, rates recomputed from the sums
-- (never averaged). A stock is NULL when any township's report is missing.
with counts as (
    select
        year,
        district_code,
        sum(births) as births,
        sum(births_unplanned) as births_unplanned,
        sum(boys) as boys,
        sum(girls) as girls,
        sum(deaths) as deaths,
        {{ sum_stock('population_start') }} as population_start,
        {{ sum_stock('population_end') }} as population_end,
        sum(villages_total) as villages_total,
        sum(villages_with_unplanned) as villages_with_unplanned,
        sum(hospital_births) as hospital_births,
        sum(hospital_births_registered) as hospital_births_registered,
        sum(birth_defects) as birth_defects,
        sum(prepregnancy_checks) as prepregnancy_checks,
        sum(prepregnancy_high_risk) as prepregnancy_high_risk,
        count(*) as townships_total
    from {{ ref('population_indicators') }}
    group by year, district_code
),

rated as (
    select
        *,
        {{ population_rates() }}
    from counts
)

select
    cur.year::integer as year,
    cur.district_code,
    cur.townships_total::bigint as townships_total,
    cur.births::bigint as births,
    cur.births_unplanned::bigint as births_unplanned,
    cur.planned_birth_rate,
    cur.boys::bigint as boys,
    cur.girls::bigint as girls,
    cur.sex_ratio_at_birth,
    cur.deaths::bigint as deaths,
    cur.population_start::bigint as population_start,
    cur.population_end::bigint as population_end,
    cur.natural_growth_rate_permille,
    cur.villages_total::bigint as villages_total,
    cur.villages_with_unplanned::bigint as villages_with_unplanned,
    cur.villages_with_unplanned_share,
    cur.hospital_births::bigint as hospital_births,
    cur.hospital_births_registered::bigint as hospital_births_registered,
    cur.registration_coverage,
    cur.birth_defects::bigint as birth_defects,
    cur.birth_defect_rate_permille,
    cur.birth_defect_rate_permille - prev.birth_defect_rate_permille as birth_defect_rate_permille_yoy,
    cur.prepregnancy_checks::bigint as prepregnancy_checks,
    cur.prepregnancy_high_risk::bigint as prepregnancy_high_risk,
    cur.prepregnancy_high_risk_share
from rated as cur
left join rated as prev on cur.district_code = prev.district_code and cur.year - 1 = prev.year
