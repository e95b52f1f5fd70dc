"""``reference/targets.csv`` as data (extracts.md, "reference/"): the responsibility targets (目标管理责任书).

What the city sets for a district and the district for each of its townships at the start of a year, one row
a target. Named here once, for the reader (``ingest/targets.py``), the landing zone's parts (``state.py``),
its inventory and the generator; plain constants only, so that the nothing-new decision imports nothing heavy.

Targets are not ingestion reference data: no extract is validated against them, so a changed ``targets.csv``
re-ingests nothing and rebuilds only what depends on it (the landing-zone part ``targets``, see
``state.landing_parts``); a missing one leaves the target marts empty.
"""

from __future__ import annotations

TARGETS_FILE = "targets.csv"  # in reference/, optional
TARGETS_PART = "targets"  # its part of the landing zone's state (state.landing_parts)
TARGETS_EXTRACT = "targets"  # its name in the ledger and the quarantine (the `extract` column)
TARGETS_AGENCY = "reference"  # the folder it is delivered in (the ledger's `agency` column)

# the header, in contract order (UTF-8, English names)
TARGET_COLUMNS = ("year", "area_code", "indicator", "bound", "target", "points")

# the indicators a target may name, in the units of the marts (metrics.md, "Target attainment")
INDICATORS = (
    "births",
    "planned_birth_rate",
    "sex_ratio_at_birth",
    "natural_growth_rate_permille",
    "registration_coverage",
    "prepregnancy_checks",
    "filing_rate",
    "collection_rate",
    "compliance_rate",
)
BOUNDS = ("min", "max")  # min: the figure must reach the target; max: it must not exceed it

DISTRICT_DIGITS, TOWNSHIP_DIGITS = 6, 9  # a target's area: a district code or a township code
CITY_DIGITS = 4  # a district's city: the first 4 digits of its code (its peers in the city's assessment)
