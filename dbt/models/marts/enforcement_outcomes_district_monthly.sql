-- District enforcement outcomes per month: the townships' flows summed, then the year to date.
{%- set columns = flow_columns(enforcement_flow_columns()) %}
with {{ district_counts('enforcement_outcomes_monthly', 'month', columns) }},

{{ monthly_mart('district_code', columns, growth=enforcement_growth()) }}
