-- The townships' figures a responsibility target is assessed against (target_attainment), per covered month:
-- the monthly marts' year-to-date rates and counts, and the year's natural growth rate (macros/targets.sql).
{{ target_actuals('township_code', 'population_indicators_monthly', 'fee_collection_monthly', 'population_indicators') }}
