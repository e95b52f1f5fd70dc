-- Every delivered file (per extract it feeds) with its hash, rows read/loaded/quarantined and status.
select * from {{ ref('stg_lake__ingest_ledger') }}
