{#- The columns of enforcement_outcomes at either grain, from a `counts` CTE keyed by (year, area_key). -#}
{% macro enforcement_outcomes_select(area_key) -%}
select
    cur.year::integer as year,
    cur.district_code,
    {%- if area_key == 'township_code' %}
    cur.township_code,
    cur.township_name,
    {%- endif %}
    cur.court_applications::bigint as court_applications,
    cur.court_rejections::bigint as court_rejections,
    cur.deposits_frozen_amount::decimal(18, 2) as deposits_frozen_amount,
    cur.deposits_transferred_amount::decimal(18, 2) as deposits_transferred_amount,
    cur.deposits_amount::decimal(18, 2) as deposits_amount,
    cur.judicial_detentions::bigint as judicial_detentions,
    cur.liangfei_cases::bigint as liangfei_cases,
    cur.liangfei_dens_destroyed::bigint as liangfei_dens_destroyed,
    cur.liangfei_admin_fines::decimal(18, 2) as liangfei_admin_fines,
    cur.liangfei_permits_cancelled::bigint as liangfei_permits_cancelled,
    cur.liangfei_criminal_detentions::bigint as liangfei_criminal_detentions,
    cur.liangfei_sentenced::bigint as liangfei_sentenced,
    {{ growth_pct('cur.court_applications', 'prev.court_applications') }} as court_applications_yoy_pct,
    {{ growth_pct('cur.deposits_amount', 'prev.deposits_amount') }} as deposits_amount_yoy_pct,
    {{ growth_pct('cur.judicial_detentions', 'prev.judicial_detentions') }} as judicial_detentions_yoy_pct
from counts as cur
left join counts as prev on cur.{{ area_key }} = prev.{{ area_key }} and cur.year - 1 = prev.year
{%- endmacro %}
