-- Links across extracts that do not (yet) match: not ingestion faults, since the other side may come later.
select
    'payment → decision' as link,
    'finance_fee_payments' as extract,
    p.receipt_no as record_key,
    p.decision_no as missing_key,
    p.source_file
from {{ ref('stg_finance__fee_payments') }} as p
anti join {{ ref('stg_finance__fee_decisions') }} as d on p.decision_no = d.decision_no
union all
select
    'decision → birth registration' as link,
    'finance_fee_decisions' as extract,
    d.decision_no as record_key,
    d.registration_id as missing_key,
    d.source_file
from {{ ref('stg_finance__fee_decisions') }} as d
anti join {{ ref('stg_township__births') }} as b on d.registration_id = b.registration_id
union all
select
    'enforcement case → decision' as link,
    'court_enforcement_cases' as extract,
    c.case_no as record_key,
    c.decision_no as missing_key,
    c.source_file
from {{ ref('stg_court__enforcement_cases') }} as c
anti join {{ ref('stg_finance__fee_decisions') }} as d on c.decision_no = d.decision_no
