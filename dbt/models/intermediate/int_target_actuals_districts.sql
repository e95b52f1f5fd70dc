-- The districts' figures a responsibility target is assessed against (target_attainment), per covered month:
-- the district monthly marts' year-to-date rates and counts (district sums), and the year's natural growth rate
-- (macros/targets.sql).
{{ target_actuals(
    'district_code',
    'population_indicators_district_monthly',
    'fee_collection_district_monthly',
    'population_indicators_district'
) }}
