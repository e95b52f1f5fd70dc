-- Every reporting unit's month: due date, and delivered on time, late, rejected, overdue or not yet due.
select * from {{ ref('stg_lake__delivery_status') }}
