{#- enforcement_outcomes (metrics.md): its flows by period, declared once for the yearly and the monthly marts. -#}

{#- CTEs applications, measures and liangfei: the flows of each township by year (grain 'year') or by month of the
    event date (grain 'month'), from the current state of every case. Measures count in the period of their own
    date, in the case's township. -#}
{% macro enforcement_flows(grain) -%}
applications as (
    select
        {{ event_period(grain, 'applied_on') }},
        township_code,
        count(*) as court_applications,
        count(*) filter (where status = '不予执行') as court_rejections
    from {{ ref('stg_court__enforcement_cases') }}
    group by all
),

measures as (
    select
        {{ event_period(grain, 'measured_on', year='measure_year') }},
        township_code,
        sum(amount) filter (where measure_type = '冻结存款') as deposits_frozen_amount,
        sum(amount) filter (where measure_type = '划拨存款') as deposits_transferred_amount,
        -- 冻结划拨银行存款, as the report counts it: money frozen and later transferred counts in both
        sum(amount) filter (where measure_type in ('冻结存款', '划拨存款')) as deposits_amount,
        count(*) filter (where measure_type = '司法拘留') as judicial_detentions
    from {{ ref('int_enforcement_measures') }}
    group by all
),

liangfei as (
    select
        {{ event_period(grain, 'opened_on') }},
        township_code,
        count(*) as liangfei_cases,
        count(*) filter (where den_destroyed) as liangfei_dens_destroyed,
        sum(admin_fine) as liangfei_admin_fines,
        sum(rebirth_permits_cancelled) as liangfei_permits_cancelled,
        sum(criminal_detentions) as liangfei_criminal_detentions,
        sum(sentenced) as liangfei_sentenced
    from {{ ref('stg_court__liangfei_cases') }}
    group by all
)
{%- endmacro %}

{% macro enforcement_flow_columns() -%}
    {{ return({
        'applications': {'court_applications': 'bigint', 'court_rejections': 'bigint'},
        'measures': {
            'deposits_frozen_amount': 'decimal(18, 2)',
            'deposits_transferred_amount': 'decimal(18, 2)',
            'deposits_amount': 'decimal(18, 2)',
            'judicial_detentions': 'bigint',
        },
        'liangfei': {
            'liangfei_cases': 'bigint',
            'liangfei_dens_destroyed': 'bigint',
            'liangfei_admin_fines': 'decimal(18, 2)',
            'liangfei_permits_cancelled': 'bigint',
            'liangfei_criminal_detentions': 'bigint',
            'liangfei_sentenced': 'bigint',
        },
    }) }}
{%- endmacro %}

{#- The figures with a growth against the previous year (_yoy_pct; _ytd_yoy_pct by month). -#}
{% macro enforcement_growth() -%}
    {{ return(['court_applications', 'deposits_amount', 'judicial_detentions']) }}
{%- endmacro %}

{#- The rest of enforcement_outcomes at either grain, after a CTE `counts` keyed by (year, area_key): the mart,
    year-on-year against the same area's previous year. -#}
{% macro enforcement_outcomes_mart(area_key) -%}
select
    {{ grain_columns('cur', area_key) }},
    {{ typed_columns('cur', flow_columns(enforcement_flow_columns())) }},
    {%- for column in enforcement_growth() %}
    {{ growth_pct('cur.' ~ column, 'prev.' ~ column) }} as {{ column }}_yoy_pct{{ ',' if not loop.last }}
    {%- endfor %}
from counts as cur
left join counts as prev on {{ previous_year('cur', 'prev', 'year', area_key) }}
{%- endmacro %}
