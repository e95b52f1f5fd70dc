-- The township and district scorecards (目标管理考核, metrics.md): one row per area × covered month of a year in
-- which the area has at least one target; its score is the share of its targets' points it earned, ranked among
-- the areas of the same level and parent (a district's townships; a city's districts) with a scorecard that month.
with cards as (
    select
        year,
        month,
        area_code,
        area_level,
        parent_code,
        count(*)::bigint as targets_total,
        (count(*) filter (where met))::bigint as targets_met,
        sum(points::bigint)::bigint as points_possible,
        sum(points_earned::bigint)::bigint as points_earned
    from {{ ref('target_attainment') }}
    group by year, month, area_code, area_level, parent_code
),

scored as (
    select
        *,
        {{ pct('points_earned', 'points_possible') }} as score
    from cards
)

select
    *,
    (rank() over (partition by year, month, area_level, parent_code order by score desc))::bigint as rank,
    (count(*) over (partition by year, month, area_level, parent_code))::bigint as peers
from scored
