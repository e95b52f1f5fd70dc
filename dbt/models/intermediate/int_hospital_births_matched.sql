-- Hospital births matched one-to-one to township registrations (metrics.md, hospital_births_registered).
-- A delivery is a mother's hospital records and registrations whose birth dates chain within
-- var('deliveries_chain_days') days of one another (registrations of any year included); in a delivery with
-- h hospital records and r registrations, the first min(h, r) hospital records by
-- (birth_date, birth_certificate_no) are matched.
-- Incremental by mother (macros/staging.sql, the touched entities' logs): every figure is computed within a mother's
-- records, so a night rebuilds the mothers of the hospital births and registrations it ranked again, before and after
-- (a corrected registration may move from one mother to another); every other night is a full refresh.
{%- set logs = {'base_hospital__births': ['stg_hospital__births', 'birth_certificate_no'], 'base_township__births': ['stg_township__births', 'registration_id']} %}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_logged_values('mother_person_key', {'base_hospital__births': ['stg_hospital__births', 'birth_certificate_no'], 'base_township__births': ['stg_township__births', 'registration_id']}) }}",
    )
}}

with events as (
    select
        birth_certificate_no as record_id,
        'hospital' as kind,
        mother_person_key,
        birth_date
    from {{ ref('stg_hospital__births') }}
    {%- if is_incremental() %}
        where coalesce(mother_person_key, '~') in {{ logged_values('mother_person_key', logs) }}
    {%- endif %}
    union all
    select
        registration_id as record_id,
        'registration' as kind,
        mother_person_key,
        birth_date
    from {{ ref('stg_township__births') }}
    {%- if is_incremental() %}
        where coalesce(mother_person_key, '~') in {{ logged_values('mother_person_key', logs) }}
    {%- endif %}
),

chained as (
    select
        *,
        case
            when
                {{ days_between(
                    'lag(birth_date) over (partition by mother_person_key order by birth_date, kind, record_id)',
                    'birth_date'
                ) }} > {{ var('deliveries_chain_days') }}
                then 1
            else 0
        end as starts_delivery
    from events
),

deliveries as (
    select
        *,
        sum(starts_delivery) over (
            partition by mother_person_key order by birth_date, kind, record_id rows unbounded preceding
        ) as delivery_no
    from chained
),

sizes as (
    select
        mother_person_key,
        delivery_no,
        count(*) filter (where kind = 'hospital') as hospital_records,
        count(*) filter (where kind = 'registration') as registrations
    from deliveries
    group by mother_person_key, delivery_no
),

ranked as (
    select
        d.record_id as birth_certificate_no,
        d.delivery_no,
        row_number() over (
            partition by d.mother_person_key, d.delivery_no order by d.birth_date, d.record_id
        ) as rank_in_delivery,
        s.hospital_records,
        s.registrations
    from deliveries as d
    inner join sizes as s on d.mother_person_key = s.mother_person_key and d.delivery_no = s.delivery_no
    where d.kind = 'hospital'
)

select
    h.*,
    year(h.birth_date) as birth_year,
    v.township_code,
    v.village_code is not null as is_resident,
    r.rank_in_delivery <= least(r.hospital_records, r.registrations) as is_registered
from {{ ref('stg_hospital__births') }} as h
inner join ranked as r on h.birth_certificate_no = r.birth_certificate_no
left join {{ ref('stg_reference__villages') }} as v on h.village_code = v.village_code
{%- if is_incremental() %}
    where coalesce(h.mother_person_key, '~') in {{ logged_values('mother_person_key', logs) }}
{%- endif %}
