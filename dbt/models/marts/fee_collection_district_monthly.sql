-- District fee collection per month: the townships' cohorts as of the month's last day summed, rates recomputed
-- from the sums.
{%- set columns = flow_columns(fee_flow_columns()) %}
with counts as (
    select
        year,
        month,
        district_code,
        {{ sums(columns, suffix='_ytd') }}
    from {{ ref('fee_collection_monthly') }}
    group by year, month, district_code
),

{{ monthly_mart('district_code', columns, fee_rate_formulas(), cumulative=false) }}
