-- Enforcement outcomes per month and township (metrics.md, "Monthly supervision"): enforcement_outcomes' flows
-- (macros/enforcement.sql) in a month's window, the year to date, and the same period of the previous year.
with {{ enforcement_flows('month') }},

{{ township_counts(enforcement_flow_columns(), 'month') }},

{{ monthly_mart('township_code', flow_columns(enforcement_flow_columns()), growth=enforcement_growth()) }}
