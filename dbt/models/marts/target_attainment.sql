-- Target attainment (目标管理考核, metrics.md): one row per target × covered month of its year. The actual is the
-- area's year-to-date figure as of the month's end (the monthly marts' _ytd columns); the natural growth rate is
-- the yearly mart's, in December only. Met and ranks compare unrounded figures; peers are the areas of the same
-- level and parent (a district's townships; a city's districts) with a target for the same indicator and bound.
with targets as (
    select * from {{ ref('stg_reference__targets') }}
),

-- the figures assessed, per covered month: townships' and districts' (macros/targets.sql)
actuals as (
    {{ target_actuals('township_code', 'population_indicators_monthly', 'fee_collection_monthly', 'population_indicators') }}
    union all
    {{ target_actuals(
        'district_code',
        'population_indicators_district_monthly',
        'fee_collection_district_monthly',
        'population_indicators_district'
    ) }}
),

assessed as (
    select
        t.year,
        a.month,
        t.area_code,
        t.area_level,
        t.parent_code,
        t.indicator,
        t.bound,
        t.target,
        t.points,
        case t.indicator
            when 'births' then a.births_ytd::double
            when 'planned_birth_rate' then a.planned_birth_rate_ytd
            when 'sex_ratio_at_birth' then a.sex_ratio_at_birth_ytd
            -- a rate of the whole year (its December population): December only
            when 'natural_growth_rate_permille' then case when a.month = 12 then a.year_natural_growth_rate_permille end
            when 'registration_coverage' then a.registration_coverage_ytd
            when 'prepregnancy_checks' then a.prepregnancy_checks_ytd::double
            when 'filing_rate' then a.filing_rate_ytd
            when 'collection_rate' then a.collection_rate_ytd
            when 'compliance_rate' then a.compliance_rate_ytd
        end as actual
    from targets as t
    inner join actuals as a on t.year = a.year and t.area_code = a.area_code
),

judged as (
    select
        *,
        case
            when actual is null then null
            when bound = 'min' then actual >= target
            else actual <= target
        end as met,
        -- best first: the highest actual against a minimum, the lowest against a maximum
        case when bound = 'min' then -actual else actual end as standing
    from assessed
)

select
    year::integer as year,
    month::integer as month,
    area_code,
    area_level,
    parent_code,
    indicator,
    bound,
    target,
    points::integer as points,
    actual,
    met,
    (case when met then points else 0 end)::integer as points_earned,
    (case
        when actual is not null
            then rank() over (
                partition by year, month, area_level, parent_code, indicator, bound, actual is null
                order by standing
            )
    end)::bigint as rank,
    (count(*) over (partition by year, month, area_level, parent_code, indicator, bound))::bigint as peers
from judged
