-- Enforcement outcomes per year and township (metrics.md, enforcement_outcomes), from the current state of
-- every case. Measures count in the year of their own date, in the case's township.
with {{ enforcement_flows('year') }},

{{ township_counts(enforcement_flow_columns(), 'year') }}

{{ enforcement_outcomes_mart('township_code') }}
