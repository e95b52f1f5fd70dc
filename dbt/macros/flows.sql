{#- Flows (counts and amounts) by period and area, on a spine of every area in every period (0 where nothing
    happened), and the monthly marts' year to date. A mart's flows are declared once as {CTE: {column: contract
    type}} (population_flow_columns, ...), next to the macro writing those CTEs; the yearly and the monthly marts
    read the same declaration. -#}

{#- All columns of a flow declaration, {column: type}, in order. -#}
{% macro flow_columns(flows) -%}
    {%- set columns = {} -%}
    {%- for cte_columns in flows.values() -%}
        {%- do columns.update(cte_columns) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- Select list: every flow of the declaration from its CTE, 0 where the CTE has no row for the spine's row. -#}
{% macro zero_filled(flows) -%}
    {%- set columns = [] -%}
    {%- for cte, cte_columns in flows.items() -%}
        {%- for column in cte_columns -%}
            {%- do columns.append('coalesce(' ~ cte ~ '.' ~ column ~ ', 0) as ' ~ column) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ columns | join(',\n        ') }}
{%- endmacro %}

{#- FROM clause, after the spine `spine`: each flow CTE of the declaration, by period and area. -#}
{% macro flow_joins(spine, flows, grain, area_key='township_code') -%}
    {%- for cte in flows %}
    left join {{ cte }} on {{ same_period(spine, cte, grain, area_key) }}
    {%- endfor %}
{%- endmacro %}

{#- CTE `counts`: every reference township in every period of the grain (int_township_years or int_township_months),
    with the flows of the declaration, 0 where nothing happened. -#}
{% macro township_counts(flows, grain) -%}
counts as (
    select
        s.*,
        {{ zero_filled(flows) }}
    from {{ ref('int_township_years' if grain == 'year' else 'int_township_months') }} as s
    {{- flow_joins('s', flows, grain) }}
)
{%- endmacro %}

{#- CTE `counts`: a district mart's sums of its township mart's `columns` (the township mart's <column><suffix>) and
    `stocks` (NULL when any township's is) by period and district, and the district's townships_total. -#}
{% macro district_counts(township_mart, grain, columns, stocks=[], suffix='') -%}
counts as (
    select
        year,
        {%- if grain == 'month' %}
        month,
        {%- endif %}
        district_code,
        {{ sums(columns, suffix) }},
        {%- for stock in stocks %}
        {{ sum_stock(stock) }} as {{ stock }},
        {%- endfor %}
        count(*) as townships_total
    from {{ ref(township_mart) }}
    group by year, {% if grain == 'month' %}month, {% endif %}district_code
)
{%- endmacro %}

{#- Select list: sums of columns (`sum(<column><suffix>) as <column>`), e.g. a district's from its townships'. -#}
{% macro sums(columns, suffix='') -%}
    {%- set sums = [] -%}
    {%- for column in columns -%}
        {%- do sums.append('sum(' ~ column ~ suffix ~ ') as ' ~ column) -%}
    {%- endfor -%}
    {{ sums | join(',\n        ') }}
{%- endmacro %}

{#- Select list: columns from relation `alias` cast to their contract types ({column: type}; none: as they are, e.g.
    a rate, DOUBLE already), with a suffix. -#}
{% macro typed_columns(alias, columns, suffix='') -%}
    {%- set typed = [] -%}
    {%- for column, type in columns.items() -%}
        {%- do typed.append(alias ~ '.' ~ column ~ ('::' ~ type if type else '') ~ ' as ' ~ column ~ suffix) -%}
    {%- endfor -%}
    {{ typed | join(',\n    ') }}
{%- endmacro %}

{#- The rest of a monthly mart at either grain (metrics.md, "Monthly supervision"), after a CTE `counts` keyed by
    (year, month, area_key) holding the grain columns, the month's flows and the month-end stocks: CTE `ytd`, the
    year-to-date sums under the yearly marts' names; CTE `rated`, the yearly marts' rates of them; then the mart:
    grain, the month's flows, the same with suffix _ytd, the rates with suffix _ytd, the stocks, and against the
    same month of the previous year each rate's difference (_ytd_yoy_pp) and each `growth` figure's growth
    (_ytd_yoy_pct). A cohort counted as of the month's last day (`cumulative` false: fee cases) has its
    year-to-date figures in `counts` already, and no month-only columns. -#}
{% macro monthly_mart(area_key, flows, rates={}, stocks={}, growth=[], cumulative=true) -%}
ytd as (
    select
        year,
        month,
        {{ area_key }},
        {%- for column in flows %}
        {% if cumulative %}sum({{ column }}) over months_so_far{% else %}{{ column }}{% endif %} as {{ column }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from counts
    {%- if cumulative %}
    window months_so_far as ({{ year_to_date(area_key) }})
    {%- endif %}
),

rated as (
    select
        *
        {%- if rates %},
        {{ rate_columns(rates) }}
        {%- endif %}
    from ytd
)

{%- set columns = [grain_columns('m', area_key, 'month')] %}
{%- if cumulative %}{% do columns.append(typed_columns('m', flows)) %}{% endif %}
{%- do columns.append(typed_columns('cur', flows, '_ytd')) %}
{%- for rate in rates %}{% do columns.append('cur.' ~ rate ~ ' as ' ~ rate ~ '_ytd') %}{% endfor %}
{%- if stocks %}{% do columns.append(typed_columns('m', stocks)) %}{% endif %}
{%- for rate in rates %}
    {%- do columns.append('cur.' ~ rate ~ ' - prev.' ~ rate ~ ' as ' ~ rate ~ '_ytd_yoy_pp') %}
{%- endfor %}
{%- for column in growth %}
    {%- do columns.append(growth_pct('cur.' ~ column, 'prev.' ~ column) ~ ' as ' ~ column ~ '_ytd_yoy_pct') %}
{%- endfor %}

select
    {{ columns | join(',\n    ') }}
from counts as m
inner join rated as cur on {{ same_period('m', 'cur', 'month', area_key) }}
left join rated as prev on {{ previous_year('cur', 'prev', 'month', area_key) }}
{%- endmacro %}
