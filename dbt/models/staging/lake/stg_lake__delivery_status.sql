select
    agency,
    unit_code,
    unit_name,
    reporting_month,
    due_date,
    files_expected,
    files_delivered,
    files_rejected,
    files_missing,
    delivered_at,
    days_late,
    status,
    overdue
from {{ source('lake', 'delivery_status') }}
