-- Every delivered row of the pre-pregnancy checks extract (孕前优生健康检查), current or not, ranked among the deliveries of its
-- check_id: the latest reporting month, then the later file name, then the later row is current; the others
-- are superseded (extracts.md). The stg_ model keeps the current rows, int_superseded_rows lists the others.
{{ base_deliveries('hospital', 'prepregnancy_checks', record_key='check_id') }}
