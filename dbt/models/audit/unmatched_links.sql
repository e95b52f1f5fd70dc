-- Links across extracts that do not (yet) match: not ingestion faults, since the other side may come later.
-- Each link: its name, the extract and staging model whose rows refer (their key, the referring column) and the
-- staging model that should hold the referred key, under the same column name.
{%- set links = [
    ('payment → decision', 'finance_fee_payments', 'stg_finance__fee_payments', 'receipt_no', 'decision_no',
     'stg_finance__fee_decisions'),
    ('decision → birth registration', 'finance_fee_decisions', 'stg_finance__fee_decisions', 'decision_no',
     'registration_id', 'stg_township__births'),
    ('enforcement case → decision', 'court_enforcement_cases', 'stg_court__enforcement_cases', 'case_no',
     'decision_no', 'stg_finance__fee_decisions'),
] %}
{%- for link, extract, model, key, refers_to, referred in links %}
    select
        '{{ link }}' as link,
        '{{ extract }}' as extract,
        r.{{ key }} as record_key,
        r.{{ refers_to }} as missing_key,
        r.source_file
    from {{ ref(model) }} as r
    anti join {{ ref(referred) }} as m on r.{{ refers_to }} = m.{{ refers_to }}
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
