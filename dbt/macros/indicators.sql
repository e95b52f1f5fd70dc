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

{#- The rates of each mart, defined once ({name: formula}) and used at township and district grain, by year and, over
    the year-to-date sums, by month alike: a monthly mart's December rate is its yearly mart's, bit for bit. The
    formulas read the yearly marts' column names. -#}
{% macro population_rate_formulas(grain='year') -%}
    {%- set rates = {
        'planned_birth_rate': pct('births - births_unplanned', 'births'),
        'sex_ratio_at_birth': pct('boys', 'girls'),
        'registration_coverage': pct('hospital_births_registered', 'hospital_births'),
        'birth_defect_rate_permille': permille('birth_defects', 'hospital_births'),
        'prepregnancy_high_risk_share': pct('prepregnancy_high_risk', 'prepregnancy_checks'),
    } -%}
    {%- if grain == 'year' -%}
        {#- stocks of two Decembers and the villages of the year: no year-to-date counterpart -#}
        {%- do rates.update({
            'natural_growth_rate_permille': permille('births - deaths', '(population_start + population_end) / 2.0'),
            'villages_with_unplanned_share': pct('villages_with_unplanned', 'villages_total'),
        }) -%}
    {%- endif -%}
    {{ return(rates) }}
{%- endmacro %}

{% macro fee_rate_formulas() -%}
    {{ return({
        'filing_rate': pct('cases_filed', 'cases_due'),
        'collection_rate': pct('amount_collected', 'amount_assessed'),
        'compliance_rate': pct('cases_compliant', 'cases_due'),
    }) }}
{%- endmacro %}

{#- Select list: the rates of a {name: formula} mapping. -#}
{% macro rate_columns(rates) -%}
    {%- set columns = [] -%}
    {%- for name, formula in rates.items() -%}
        {%- do columns.append(formula ~ ' as ' ~ name) -%}
    {%- endfor -%}
    {{ columns | join(',\n    ') }}
{%- endmacro %}

{% macro population_rates(grain='year') -%}
    {{ rate_columns(population_rate_formulas(grain)) }}
{%- endmacro %}

{% macro fee_rates() -%}
    {{ rate_columns(fee_rate_formulas()) }}
{%- endmacro %}

{% macro station_rates() -%}
    women_childbearing_age::double / nullif(stations_total, 0) as women_per_station
{%- endmacro %}
