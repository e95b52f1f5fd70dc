-- Social maintenance fee collection per year (due year) and township (metrics.md, fee_collection): the year's
-- cases as of 31 December.
with {{ fee_cohort('year') }},

{{ township_counts(fee_flow_columns(), 'year') }},

{{ fee_collection_mart('township_code') }}
