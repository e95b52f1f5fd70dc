{#- Rates are DOUBLE, computed from raw sums; a zero denominator gives NULL (metrics.md, conventions). -#}
{% macro pct(numerator, denominator) -%}
    (100.0::double * ({{ numerator }}) / nullif(({{ denominator }})::double, 0))
{%- endmacro %}

{% macro permille(numerator, denominator) -%}
    (1000.0::double * ({{ numerator }}) / nullif(({{ denominator }})::double, 0))
{%- endmacro %}

{#- Year-on-year growth of a count or amount: 100 × (this / last − 1), NULL when last is 0 or missing. -#}
{% macro growth_pct(this_year, last_year) -%}
    (100.0::double * (({{ this_year }})::double / nullif(({{ last_year }})::double, 0) - 1))
{%- endmacro %}

{#- A stock summed over areas is NULL when any area's report is missing. -#}
{% macro sum_stock(column) -%}
    case when count(*) filter (where {{ column }} is null) > 0 then null else sum({{ column }}) end
{%- endmacro %}

{#- The rates of each mart, defined once and used at township and district grain alike. -#}
{% macro population_rates() -%}
    {{ pct('births - births_unplanned', 'births') }} as planned_birth_rate,
    {{ pct('boys', 'girls') }} as sex_ratio_at_birth,
    {{ permille('births - deaths', '(population_start + population_end) / 2.0') }} as natural_growth_rate_permille,
    {{ pct('villages_with_unplanned', 'villages_total') }} as villages_with_unplanned_share,
    {{ pct('hospital_births_registered', 'hospital_births') }} as registration_coverage,
    {{ permille('birth_defects', 'hospital_births') }} as birth_defect_rate_permille,
    {{ pct('prepregnancy_high_risk', 'prepregnancy_checks') }} as prepregnancy_high_risk_share
{%- endmacro %}

{% macro fee_rates() -%}
    {{ pct('cases_filed', 'cases_due') }} as filing_rate,
    {{ pct('amount_collected', 'amount_assessed') }} as collection_rate,
    {{ pct('cases_compliant', 'cases_due') }} as compliance_rate
{%- endmacro %}

{% macro station_rates() -%}
    women_childbearing_age::double / nullif(stations_total, 0) as women_per_station
{%- endmacro %}
