{#- The periods of the marts: a calendar year (grain 'year') or a month of it (grain 'month', metrics.md "Monthly
    supervision"). The yearly and monthly marts group, join and select through these macros, so that a monthly
    mart is its yearly mart with a finer window and nothing else. `year()`, `month()`, `make_date()` and
    `last_day()` are spelled alike by DuckDB and Spark. -#}

{#- The period of an event, as the columns `year` [, `month`]: from a date, or from year and month columns. -#}
{% macro event_period(grain, date=none, year=none, month=none) -%}
    {{ year or 'year(' ~ date ~ ')' }} as year
    {%- if grain == 'month' %},
    {{ month or 'month(' ~ date ~ ')' }} as month
    {%- endif %}
{%- endmacro %}

{#- Join condition: the same period and area in relations `left` and `right`. -#}
{% macro same_period(left, right, grain, area_key='township_code') -%}
    {{ left }}.year = {{ right }}.year
    {%- if grain == 'month' %} and {{ left }}.month = {{ right }}.month{% endif %}
    and {{ left }}.{{ area_key }} = {{ right }}.{{ area_key }}
{%- endmacro %}

{#- Join condition: `right` is the same area one year earlier (the same month, at monthly grain). -#}
{% macro previous_year(left, right, grain, area_key='township_code') -%}
    {{ left }}.year - 1 = {{ right }}.year
    {%- if grain == 'month' %} and {{ left }}.month = {{ right }}.month{% endif %}
    and {{ left }}.{{ area_key }} = {{ right }}.{{ area_key }}
{%- endmacro %}

{#- The grain columns every mart starts with, from relation `alias`: year [, month], district_code [, township_code,
    township_name]. -#}
{% macro grain_columns(alias, area_key, grain='year') -%}
    {{ alias }}.year::integer as year,
    {%- if grain == 'month' %}
    {{ alias }}.month::integer as month,
    {%- endif %}
    {{ alias }}.district_code
    {%- if area_key == 'township_code' %},
    {{ alias }}.township_code,
    {{ alias }}.township_name
    {%- endif %}
{%- endmacro %}

{#- The last day of a month. -#}
{% macro month_end(year, month) -%}
    last_day(make_date({{ year }}, {{ month }}, 1))
{%- endmacro %}

{#- FROM clause: the month numbers 1 to 12, as a table `alias` of one column `month`. -#}
{% macro month_numbers(alias='months') -%}
    (
        {%- for m in range(1, 13) %}
        select {{ m }} as month{% if not loop.last %} union all{% endif %}
        {%- endfor %}
    ) as {{ alias }}
{%- endmacro %}

{#- WINDOW clause body: the months of the area's year up to this one (a year-to-date sum). -#}
{% macro year_to_date(area_key) -%}
    partition by {{ area_key }}, year order by month rows between unbounded preceding and current row
{%- endmacro %}
