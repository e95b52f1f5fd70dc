-- Every delivered row of the fee decisions extract (征收决定书), current or not, ranked among the deliveries of its
-- decision_no: the latest reporting month, then the later file name, then the later row is current; the others
-- are superseded (extracts.md). The stg_ model keeps the current rows, int_superseded_rows lists the others.
{{ base_deliveries('finance', 'fee_decisions', record_key='decision_no') }}
