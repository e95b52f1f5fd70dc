-- Every delivered row of the hospital births extract (出生医学证明), current or not, ranked among the deliveries of its
-- birth_certificate_no: the latest reporting month, then the later file name, then the later row is current; the others
-- are superseded (extracts.md). The stg_ model keeps the current rows, int_superseded_rows lists the others.
{{ base_deliveries('hospital', 'births', record_key='birth_certificate_no', log_with='mother_person_key') }}
