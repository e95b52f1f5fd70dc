-- Valid rows whose village or township is not in the reference data: kept, left out of every indicator.
with villages as (
    select village_code from {{ ref('stg_reference__villages') }}
),

townships as (
    select township_code from {{ ref('stg_reference__townships') }}
)

select
    'hospital_births' as extract,
    h.birth_certificate_no as record_key,
    h.village_code as code,
    h.source_file
from {{ ref('stg_hospital__births') }} as h
where h.village_code not in (select v.village_code from villages as v)
union all
select
    'hospital_prepregnancy_checks' as extract,
    c.check_id as record_key,
    c.village_code as code,
    c.source_file
from {{ ref('stg_hospital__prepregnancy_checks') }} as c
where c.village_code not in (select v.village_code from villages as v)
union all
select
    'court_enforcement_cases' as extract,
    e.case_no as record_key,
    e.township_code as code,
    e.source_file
from {{ ref('stg_court__enforcement_cases') }} as e
where e.township_code not in (select t.township_code from townships as t)
union all
select
    'court_liangfei_cases' as extract,
    l.case_no as record_key,
    l.township_code as code,
    l.source_file
from {{ ref('stg_court__liangfei_cases') }} as l
where l.township_code not in (select t.township_code from townships as t)
union all
select
    'finance_fee_decisions' as extract,
    d.decision_no as record_key,
    d.township_code as code,
    d.source_file
from {{ ref('stg_finance__fee_decisions') }} as d
where d.township_code not in (select t.township_code from townships as t)
