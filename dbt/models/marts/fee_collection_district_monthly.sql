-- District fee collection per month: the townships' cohorts as of the month's last day summed, rates recomputed
-- from the sums.
{%- set columns = flow_columns(fee_flow_columns()) %}
with {{ district_counts('fee_collection_monthly', 'month', columns, suffix='_ytd') }},

{{ monthly_mart('district_code', columns, fee_rate_formulas(), cumulative=false) }}
