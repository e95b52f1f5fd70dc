-- District enforcement outcomes per month: the townships' flows summed, then the year to date.
{%- set columns = flow_columns(enforcement_flow_columns()) %}
with counts as (
    select
        year,
        month,
        district_code,
        {{ sums(columns) }}
    from {{ ref('enforcement_outcomes_monthly') }}
    group by year, month, district_code
),

{{ monthly_mart('district_code', columns, growth=enforcement_growth()) }}
