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

{{ population_indicators_select('district_code') }}
