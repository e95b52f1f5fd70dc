select
    source_file,
    agency,
    extract,
    reporting_month,
    sha256,
    size_bytes,
    rows_read,
    rows_loaded,
    rows_quarantined,
    status,
    reason,
    run_id,
    ingested_at,
    delivered_at
from {{ source('lake', 'ingest_ledger') }}
