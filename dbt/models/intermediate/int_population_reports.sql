-- Village month-end reports of the reference villages. A township's report for a month is present when any of
-- its villages has a row for that month; stocks of a missing report are NULL in the marts.
-- Incremental by reporting month (macros/incremental.sql): a night that rewrote some months of the township
-- population extract replaces exactly those months; every other night is a full refresh.
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_months('reporting_month', 'township_population') }}",
    )
}}

select p.*
from {{ ref('stg_township__population') }} as p
inner join {{ ref('stg_reference__villages') }} as v on p.village_code = v.village_code
{% if is_incremental() %}
    where {{ in_changed_months('p.reporting_month', 'township_population') }}
{% endif %}
