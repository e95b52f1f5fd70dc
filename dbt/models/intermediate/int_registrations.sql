-- Township birth registrations with their area; residents are those whose village is in the reference data.
-- Incremental by registration (macros/staging.sql, the touched entities' log): a night rebuilds the registrations
-- base_township__births ranked again; every other night is a full refresh.
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_logged_values('registration_id', {'base_township__births': ['stg_township__births', 'registration_id']}) }}",
    )
}}

select
    b.*,
    year(b.birth_date) as birth_year,
    year(b.registered_on) as registration_year,
    v.village_code is not null as is_resident
from {{ ref('stg_township__births') }} as b
left join {{ ref('stg_reference__villages') }} as v on b.village_code = v.village_code
{% if is_incremental() %}
    where coalesce(b.registration_id, '~') in {{ logged_values('registration_id', {'base_township__births': ['stg_township__births', 'registration_id']}) }}
{% endif %}
