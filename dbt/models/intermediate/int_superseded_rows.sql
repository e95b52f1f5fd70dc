-- Rows of a key that came again in a later delivery: kept in the lake, not counted (extracts.md). Each base model
-- ranks the deliveries of its key once; its stg_ model keeps delivery_rank 1, the others are listed here.
-- Court records are keyed by (case_no, updated_at): a record re-sent unchanged is superseded by its later copy.
{%- set keyed = [
    ('township_births', 'base_township__births', 'registration_id'),
    ('hospital_births', 'base_hospital__births', 'birth_certificate_no'),
    ('hospital_prepregnancy_checks', 'base_hospital__prepregnancy_checks', 'check_id'),
    ('finance_fee_decisions', 'base_finance__fee_decisions', 'decision_no'),
    ('finance_fee_payments', 'base_finance__fee_payments', 'receipt_no'),
    ('court_enforcement_cases', 'base_court__enforcement_cases',
        "case_no || ' @ ' || " ~ utc_iso_string('updated_at')),
    ('court_liangfei_cases', 'base_court__liangfei_cases',
        "case_no || ' @ ' || " ~ utc_iso_string('updated_at')),
] %}
{%- for extract, base_model, key in keyed %}
    select
        '{{ extract }}' as extract,
        {{ key }} as key_value,
        source_file,
        source_row,
        reporting_month,
        current_file as superseded_by_file,
        current_row as superseded_by_row
    from {{ ref(base_model) }}
    where delivery_rank > 1
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
