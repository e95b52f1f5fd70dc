{#- fee_collection (metrics.md): the cohort of fee cases of a year as of a day, declared once for the yearly mart
    (as of 31 December: int_fee_cases) and the monthly one (as of each month's last day: int_fee_case_months,
    whose December is int_fee_cases). -#}

{#- CTE `cases`: per township and due year (and month of the cut-off, at grain 'month'), the cases due by the cut-off,
    filed, compliant, and the amounts assessed by and collected to the filed cases' decisions by the cut-off. -#}
{% macro fee_cohort(grain) -%}
cases as (
    select
        {{ event_period(grain, year='due_year', month='month') }},
        township_code,
        count(*) as cases_due,
        count(*) filter (where is_filed) as cases_filed,
        count(*) filter (where is_compliant) as cases_compliant,
        coalesce(sum(amount_assessed) filter (where is_filed), 0) as amount_assessed,
        {%- if grain == 'year' %}
        coalesce(sum(amount_collected_by_year_end) filter (where is_filed), 0) as amount_collected
    from {{ ref('int_fee_cases') }}
        {%- else %}
        coalesce(sum(amount_collected) filter (where is_filed), 0) as amount_collected
    from {{ ref('int_fee_case_months') }}
        {%- endif %}
    group by all
)
{%- endmacro %}

{% macro fee_flow_columns() -%}
    {{ return({'cases': {
        'cases_due': 'bigint',
        'cases_filed': 'bigint',
        'cases_compliant': 'bigint',
        'amount_assessed': 'decimal(18, 2)',
        'amount_collected': 'decimal(18, 2)',
    }}) }}
{%- endmacro %}

{#- The rest of fee_collection at either grain, after a CTE `counts` keyed by (year, area_key): CTE `rated`, its rates;
    then the mart, year-on-year against the same area's previous year. -#}
{% macro fee_collection_mart(area_key) -%}
rated as (
    select
        *,
        {{ fee_rates() }}
    from counts
)

select
    {{ grain_columns('cur', area_key) }},
    {{ typed_columns('cur', {
        'cases_due': 'bigint', 'cases_filed': 'bigint', 'filing_rate': none,
        'amount_assessed': 'decimal(18, 2)', 'amount_collected': 'decimal(18, 2)', 'collection_rate': none,
        'cases_compliant': 'bigint', 'compliance_rate': none,
    }) }},
    {%- for rate in fee_rate_formulas() %}
    cur.{{ rate }} - prev.{{ rate }} as {{ rate }}_yoy_pp{{ ',' if not loop.last }}
    {%- endfor %}
from rated as cur
left join rated as prev on {{ previous_year('cur', 'prev', 'year', area_key) }}
{%- endmacro %}
