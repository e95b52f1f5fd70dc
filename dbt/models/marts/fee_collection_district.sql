-- District fee collection per year: the townships' cases summed, rates recomputed from the sums.
with {{ district_counts('fee_collection', 'year', flow_columns(fee_flow_columns())) }},

{{ fee_collection_mart('district_code') }}
