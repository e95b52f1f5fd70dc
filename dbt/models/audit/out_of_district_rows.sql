-- Valid rows whose village or township is not in the reference data: kept, left out of every indicator.
select 'hospital_births' as extract, birth_certificate_no as record_key, village_code as code, source_file
from {{ ref('stg_hospital__births') }}
where village_code not in (select village_code from {{ ref('stg_reference__villages') }})
union all
select 'hospital_prepregnancy_checks', check_id, village_code, source_file
from {{ ref('stg_hospital__prepregnancy_checks') }}
where village_code not in (select village_code from {{ ref('stg_reference__villages') }})
union all
select 'court_enforcement_cases', case_no, township_code, source_file
from {{ ref('stg_court__enforcement_cases') }}
where township_code not in (select township_code from {{ ref('stg_reference__townships') }})
union all
select 'court_liangfei_cases', case_no, township_code, source_file
from {{ ref('stg_court__liangfei_cases') }}
where township_code not in (select township_code from {{ ref('stg_reference__townships') }})
union all
select 'finance_fee_decisions', decision_no, township_code, source_file
from {{ ref('stg_finance__fee_decisions') }}
where township_code not in (select township_code from {{ ref('stg_reference__townships') }})
