-- District population indicators: counts and stocks summed over townships, rates recomputed from the sums
-- (never averaged). A stock is NULL when any township's is missing.
{%- set columns = flow_columns(population_flow_columns('year')) %}
{%- do columns.update({'villages_total': 'bigint'}) %}
with {{ district_counts('population_indicators', 'year', columns, ['population_start', 'population_end']) }},

{{ population_indicators_mart('district_code') }}
