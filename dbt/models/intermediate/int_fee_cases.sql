-- Fee cases (social maintenance fee): unplanned registrations of mothers registered in the district (本区).
-- A case falls due in the year of registered_on, in the township of its registration's village. Its decision
-- is the earliest (decided_on, then decision_no) naming the registration; payments count only to that decision.
with cases as (
    select
        registration_id,
        township_code,
        registration_year as due_year,
        make_date(registration_year, 12, 31) as due_year_end
    from {{ ref('int_registrations') }}
    where policy_status = '政策外' and mother_hukou = '本区' and is_resident
),

first_decision as (
    select *
    from {{ ref('stg_finance__fee_decisions') }}
    qualify row_number() over (partition by registration_id order by decided_on, decision_no) = 1
),

collected as (
    select
        c.registration_id,
        sum(p.amount_paid) as amount_collected
    from cases as c
    inner join first_decision as d on c.registration_id = d.registration_id
    inner join {{ ref('stg_finance__fee_payments') }} as p on d.decision_no = p.decision_no
    where p.paid_on <= c.due_year_end
    group by c.registration_id
)

select
    c.registration_id,
    c.township_code,
    c.due_year,
    d.decision_no,
    d.decided_on,
    d.amount_assessed,
    d.amount_statutory,
    coalesce(d.decided_on <= c.due_year_end, false) as is_filed,
    coalesce(d.decided_on <= c.due_year_end and d.amount_assessed >= d.amount_statutory, false) as is_compliant,
    coalesce(k.amount_collected, 0)::decimal(18, 2) as amount_collected_by_year_end
from cases as c
left join first_decision as d on c.registration_id = d.registration_id
left join collected as k on c.registration_id = k.registration_id
