{#- population_indicators (metrics.md): its flows by period, declared once for the yearly and the monthly marts. -#}

{#- CTEs registrations, deaths, hospital and checks: the flows of each township by year (grain 'year') or by month
    of the event date (grain 'month'); residents only. Matching (is_registered) is the same at either grain: only
    the window changes. -#}
{% macro population_flows(grain) -%}
registrations as (
    select
        {{ event_period(grain, 'birth_date', year='birth_year') }},
        township_code,
        count(*) as births,
        count(*) filter (where policy_status = '政策外') as births_unplanned,
        count(*) filter (where sex = '男') as boys,
        count(*) filter (where sex = '女') as girls
        {%- if grain == 'year' %},
        count(distinct village_code) filter (where policy_status = '政策外') as villages_with_unplanned
        {%- endif %}
    from {{ ref('int_registrations') }}
    where is_resident
    group by all
),

deaths as (
    select
        {{ event_period(grain, year='year', month='month') }},
        township_code,
        sum(deaths) as deaths
    from {{ ref('int_population_reports') }}
    group by all
),

hospital as (
    select
        {{ event_period(grain, 'birth_date', year='birth_year') }},
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
        {{ event_period(grain, 'c.checked_on') }},
        v.township_code,
        count(*) as prepregnancy_checks,
        count(*) filter (where c.is_high_risk) as prepregnancy_high_risk
    from {{ ref('stg_hospital__prepregnancy_checks') }} as c
    inner join {{ ref('stg_reference__villages') }} as v on c.village_code = v.village_code
    group by all
)
{%- endmacro %}

{#- The columns of population_flows, {CTE: {column: type}} (villages_with_unplanned is a count of villages in the
    year: not a flow that adds up over months). -#}
{% macro population_flow_columns(grain) -%}
    {%- set flows = {
        'registrations': {'births': 'bigint', 'births_unplanned': 'bigint', 'boys': 'bigint', 'girls': 'bigint'},
        'deaths': {'deaths': 'bigint'},
        'hospital': {
            'hospital_births': 'bigint', 'hospital_births_registered': 'bigint', 'birth_defects': 'bigint'
        },
        'checks': {'prepregnancy_checks': 'bigint', 'prepregnancy_high_risk': 'bigint'},
    } -%}
    {%- if grain == 'year' -%}
        {%- do flows['registrations'].update({'villages_with_unplanned': 'bigint'}) -%}
    {%- endif -%}
    {{ return(flows) }}
{%- endmacro %}

{#- The month-end stocks of the monthly marts. -#}
{% macro population_stocks() -%}
    {{ return({'population_end': 'bigint', 'women_childbearing_age': 'bigint'}) }}
{%- endmacro %}

{#- The rest of population_indicators at either grain, after a CTE `counts` keyed by (year, area_key): CTE `rated`, its
    rates; then the mart, year-on-year against the same area's previous year. -#}
{% macro population_indicators_mart(area_key) -%}
rated as (
    select
        *,
        {{ population_rates() }}
    from counts
)

select
    {{ grain_columns('cur', area_key) }},
    {%- if area_key == 'district_code' %}
    cur.townships_total::bigint as townships_total,
    {%- endif %}
    {{ typed_columns('cur', {
        'births': 'bigint', 'births_unplanned': 'bigint', 'planned_birth_rate': none,
        'boys': 'bigint', 'girls': 'bigint', 'sex_ratio_at_birth': none,
        'deaths': 'bigint', 'population_start': 'bigint', 'population_end': 'bigint',
        'natural_growth_rate_permille': none,
        'villages_total': 'bigint', 'villages_with_unplanned': 'bigint', 'villages_with_unplanned_share': none,
        'hospital_births': 'bigint', 'hospital_births_registered': 'bigint', 'registration_coverage': none,
        'birth_defects': 'bigint', 'birth_defect_rate_permille': none,
    }) }},
    cur.birth_defect_rate_permille - prev.birth_defect_rate_permille as birth_defect_rate_permille_yoy,
    {{ typed_columns('cur', {
        'prepregnancy_checks': 'bigint', 'prepregnancy_high_risk': 'bigint', 'prepregnancy_high_risk_share': none,
    }) }}
from rated as cur
left join rated as prev on {{ previous_year('cur', 'prev', 'year', area_key) }}
{%- endmacro %}
