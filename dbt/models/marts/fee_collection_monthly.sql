-- Social maintenance fee collection per month and township (metrics.md, "Monthly supervision"): the year's cohort
-- as of the month's last day (cases registered from 1 January to that day; filed, compliant and collected by it),
-- with fee_collection's rates. December is fee_collection.
with {{ fee_cohort('month') }},

{{ township_counts(fee_flow_columns(), 'month') }},

{{ monthly_mart('township_code', flow_columns(fee_flow_columns()), fee_rate_formulas(), cumulative=false) }}
