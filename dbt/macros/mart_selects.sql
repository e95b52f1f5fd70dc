{#- The final column lists of the population and fee marts at either grain, from a `rated` CTE
    keyed by (year, area_key); year-on-year columns against the same area's previous year. -#}
{% macro population_indicators_select(area_key) -%}
select
    cur.year::integer as year,
    cur.district_code,
    {%- if area_key == 'township_code' %}
    cur.township_code,
    cur.township_name,
    {%- else %}
    cur.townships_total::bigint as townships_total,
    {%- endif %}
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
left join rated as prev on cur.{{ area_key }} = prev.{{ area_key }} and cur.year - 1 = prev.year
{%- endmacro %}

{% macro fee_collection_select(area_key) -%}
select
    cur.year::integer as year,
    cur.district_code,
    {%- if area_key == 'township_code' %}
    cur.township_code,
    cur.township_name,
    {%- endif %}
    cur.cases_due::bigint as cases_due,
    cur.cases_filed::bigint as cases_filed,
    cur.filing_rate,
    cur.amount_assessed::decimal(18, 2) as amount_assessed,
    cur.amount_collected::decimal(18, 2) as amount_collected,
    cur.collection_rate,
    cur.cases_compliant::bigint as cases_compliant,
    cur.compliance_rate,
    cur.filing_rate - prev.filing_rate as filing_rate_yoy_pp,
    cur.collection_rate - prev.collection_rate as collection_rate_yoy_pp,
    cur.compliance_rate - prev.compliance_rate as compliance_rate_yoy_pp
from rated as cur
left join rated as prev on cur.{{ area_key }} = prev.{{ area_key }} and cur.year - 1 = prev.year
{%- endmacro %}
