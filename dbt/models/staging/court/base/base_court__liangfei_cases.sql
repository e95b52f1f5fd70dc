-- Every delivered record of a 两非 case, current or not. A case is sent again whenever it changes:
-- its current state (is_current) is the record with the latest updated_at, compared as instants; a tie goes to the
-- later reporting month, then the later line. A record's key is case_no + updated_at (extracts.md): among the copies
-- of one record, the latest reporting month, then the later file name, then the later row is current
-- (delivery_rank 1) and the others are superseded (listed by int_superseded_rows).
{{ base_deliveries(
    'court', 'liangfei_cases', record_key='case_no, updated_at',
    current_state_of='case_no', current_state_order='updated_at desc, reporting_month desc, source_row desc'
) }}
