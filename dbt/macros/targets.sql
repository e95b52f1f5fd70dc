{#- The figures a responsibility target is assessed against, per covered month, for one level of area (the
    township or the district marts, keyed by `area_key`): the monthly marts' year-to-date rates and counts as of the
    month's end, and the year's natural growth rate from the yearly mart (target_attainment takes it in December
    only). One row per (year, month, area), `area_code` the area's key. -#}
{% macro target_actuals(area_key, population_monthly, fee_monthly, population_yearly) -%}
select
    p.year,
    p.month,
    p.{{ area_key }} as area_code,
    p.births_ytd,
    p.planned_birth_rate_ytd,
    p.sex_ratio_at_birth_ytd,
    p.registration_coverage_ytd,
    p.prepregnancy_checks_ytd,
    f.filing_rate_ytd,
    f.collection_rate_ytd,
    f.compliance_rate_ytd,
    y.natural_growth_rate_permille as year_natural_growth_rate_permille
from {{ ref(population_monthly) }} as p
inner join {{ ref(fee_monthly) }} as f
    on p.year = f.year and p.month = f.month and p.{{ area_key }} = f.{{ area_key }}
left join {{ ref(population_yearly) }} as y
    on p.year = y.year and p.{{ area_key }} = y.{{ area_key }}
{%- endmacro %}
