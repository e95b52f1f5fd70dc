-- Every delivered row of the 出生登记 extract (township birth registrations), current or not, ranked among the deliveries of its
-- registration_id: the latest reporting month, then the later file name, then the later row is current; the others
-- are superseded (extracts.md). The stg_ model keeps the current rows, int_superseded_rows lists the others.
{{ base_deliveries('township', 'births', record_key='registration_id', log_with='mother_person_key') }}
