-- Fee cases (social maintenance fee) as of the last day of each month of their due year (metrics.md,
-- fee_collection and fee_collection_monthly). A case is an unplanned registration of a mother registered in the
-- district (本区); it falls due in the year of its registered_on, in the township of its registration's village,
-- and is in its year's cohort from the month of registered_on. Its decision is the earliest (decided_on, then
-- decision_no) naming the registration; as of a cut-off day the case is filed when that decision is dated on or
-- before it, and payments to that decision count when dated on or before it. December's cut-off is 31 December:
-- the yearly mart's (int_fee_cases).
with cases as (
    select
        registration_id,
        township_code,
        registration_year as due_year,
        month(registered_on) as due_month
    from {{ ref('int_registrations') }}
    where policy_status = '政策外' and mother_hukou = '本区' and is_resident
),

first_decision as (
    select *
    from {{ ref('stg_finance__fee_decisions') }}
    qualify row_number() over (partition by registration_id order by decided_on, decision_no) = 1
),

cuts as (
    select
        c.registration_id,
        c.township_code,
        c.due_year,
        m.month,
        {{ month_end('c.due_year', 'm.month') }} as cut_off
    from cases as c
    inner join {{ month_numbers('m') }} on c.due_month <= m.month
),

collected as (
    select
        k.registration_id,
        k.month,
        sum(p.amount_paid) as amount_collected
    from cuts as k
    inner join first_decision as d on k.registration_id = d.registration_id
    inner join {{ ref('stg_finance__fee_payments') }} as p on d.decision_no = p.decision_no
    where p.paid_on <= k.cut_off
    group by k.registration_id, k.month
)

select
    k.registration_id,
    k.township_code,
    k.due_year,
    k.month,
    k.cut_off,
    d.decision_no,
    d.decided_on,
    d.amount_assessed,
    d.amount_statutory,
    coalesce(d.decided_on <= k.cut_off, false) as is_filed,
    coalesce(d.decided_on <= k.cut_off and d.amount_assessed >= d.amount_statutory, false) as is_compliant,
    coalesce(a.amount_collected, 0)::decimal(18, 2) as amount_collected
from cuts as k
left join first_decision as d on k.registration_id = d.registration_id
left join collected as a on k.registration_id = a.registration_id and k.month = a.month
