-- Valid rows whose village or township is not in the reference data: kept, left out of every indicator.
-- Each extract checked: its staging model, the row's key and the area code looked up in the reference.
{%- set checked = [
    ('hospital_births', 'stg_hospital__births', 'birth_certificate_no', 'village_code'),
    ('hospital_prepregnancy_checks', 'stg_hospital__prepregnancy_checks', 'check_id', 'village_code'),
    ('court_enforcement_cases', 'stg_court__enforcement_cases', 'case_no', 'township_code'),
    ('court_liangfei_cases', 'stg_court__liangfei_cases', 'case_no', 'township_code'),
    ('finance_fee_decisions', 'stg_finance__fee_decisions', 'decision_no', 'township_code'),
] %}
{%- set reference = {
    'village_code': 'stg_reference__villages',
    'township_code': 'stg_reference__townships',
} %}
{%- for extract, model, key, code in checked %}
    select
        '{{ extract }}' as extract,
        r.{{ key }} as record_key,
        r.{{ code }} as code,
        r.source_file
    from {{ ref(model) }} as r
    where r.{{ code }} not in (select a.{{ code }} from {{ ref(reference[code]) }} as a)
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
