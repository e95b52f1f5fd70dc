-- Rows whose key came again in a later delivery: kept in the lake, listed here, not counted.
select * from {{ ref('int_superseded_rows') }}
