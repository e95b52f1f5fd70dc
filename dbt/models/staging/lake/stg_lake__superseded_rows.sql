-- Rows of a key that came again in a later delivery: kept in the lake, not counted (extracts.md).
-- Court records are keyed by (case_no, updated_at): a record re-sent unchanged is superseded by its later copy.
{%- set keyed = [
    ('township', 'births', 'registration_id'),
    ('hospital', 'births', 'birth_certificate_no'),
    ('hospital', 'prepregnancy_checks', 'check_id'),
    ('finance', 'fee_decisions', 'decision_no'),
    ('finance', 'fee_payments', 'receipt_no'),
    ('court', 'enforcement_cases', "case_no || ' @ ' || strftime(updated_at, '%Y-%m-%dT%H:%M:%SZ')"),
    ('court', 'liangfei_cases', "case_no || ' @ ' || strftime(updated_at, '%Y-%m-%dT%H:%M:%SZ')"),
] %}
{%- for agency, entity, key in keyed %}
    select
        '{{ agency }}_{{ entity }}' as extract,
        key_value,
        source_file,
        source_row,
        reporting_month,
        current_file as superseded_by_file,
        current_row as superseded_by_row
    from (
        select
            {{ key }} as key_value,
            source_file,
            source_row,
            reporting_month,
            first_value(source_file) over w as current_file,
            first_value(source_row) over w as current_row,
            row_number() over w as delivery_rank
        from {{ source(agency, entity) }}
        window w as (partition by {{ key }} order by {{ latest_delivery_order() }})
    )
    where delivery_rank > 1
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
