"""The 46 eTwinning countries (EU member states, Erasmus+ partner countries, eTwinning Plus)."""

from __future__ import annotations

# code -> English name; the interface translates names, the data keeps codes
COUNTRIES: dict[str, str] = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia", "CY": "Cyprus",
    "CZ": "Czechia", "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "FR": "France",
    "DE": "Germany", "GR": "Greece", "HU": "Hungary", "IE": "Ireland", "IT": "Italy",
    "LV": "Latvia", "LT": "Lithuania", "LU": "Luxembourg", "MT": "Malta", "NL": "Netherlands",
    "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SK": "Slovakia", "SI": "Slovenia",
    "ES": "Spain", "SE": "Sweden",
    "AL": "Albania", "BA": "Bosnia and Herzegovina", "IS": "Iceland", "LI": "Liechtenstein",
    "ME": "Montenegro", "MK": "North Macedonia", "NO": "Norway", "RS": "Serbia", "TR": "Türkiye",
    "AM": "Armenia", "AZ": "Azerbaijan", "GE": "Georgia", "JO": "Jordan", "LB": "Lebanon",
    "MD": "Moldova", "TN": "Tunisia", "UA": "Ukraine", "EG": "Egypt", "XK": "Kosovo",
}  # fmt: skip

# Countries whose national school register number is required when registering a school.
SCHOOL_NUMBER_REQUIRED = {"PL", "GR", "FR", "IT", "ES", "PT", "RO", "CZ", "SK", "HU"}

assert len(COUNTRIES) == 46
