-- District enforcement outcomes per year: the townships' flows summed.
with {{ district_counts('enforcement_outcomes', 'year', flow_columns(enforcement_flow_columns())) }}

{{ enforcement_outcomes_mart('district_code') }}
