-- District population indicators per month: flows and stocks summed over townships (a stock is NULL when any
-- township's is), the year to date and its rates recomputed from the district's sums (never averaged).
{%- set columns = flow_columns(population_flow_columns('month')) %}
with {{ district_counts('population_indicators_monthly', 'month', columns, population_stocks()) }},

{{ monthly_mart('district_code', columns, population_rate_formulas('month'), population_stocks(), ['births']) }}
