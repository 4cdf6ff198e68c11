"""Tests for datasets.country_codes against the CSSE COVID-19 data files.

The data directory comes from the BENCH_DATA_DIR environment variable; by default it is
../shared/data next to the repository. The files are read with the csv module directly,
not with the project's own loader.
"""

import csv
import os
import re
from pathlib import Path

import pytest
from pygal_maps_world.i18n import COUNTRIES

from datasets.country_codes import CSSE_TO_ISO2, NO_ISO_CODE, is_known, iso2_for

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", DEFAULT_DATA_DIR))
COVID_DIR = DATA_DIR / "covid"

TIME_SERIES_FILES = [
    "time_series_covid19_confirmed_global_2023-03-09.csv",
    "time_series_covid19_confirmed_global_2020-05-02.csv",
]
HOMEWORK_FILE = "covid_19_homework.csv"
HOMEWORK_HEADER_ROWS = 3

# Our codes that pygal_maps_world's world map does not have. They are all valid codes
# ('xk' is user-assigned for Kosovo); the map simply lacks small island states, South Sudan
# (independent since 2011), Qatar and Kosovo. If pygal or the table changes, this test fails
# so that the change is noticed.
MISSING_FROM_PYGAL = {
    "ag",  # Antigua and Barbuda
    "bb",  # Barbados
    "bs",  # Bahamas
    "dm",  # Dominica
    "fj",  # Fiji
    "fm",  # Micronesia
    "gd",  # Grenada
    "ki",  # Kiribati
    "km",  # Comoros
    "kn",  # Saint Kitts and Nevis
    "lc",  # Saint Lucia
    "mh",  # Marshall Islands
    "nr",  # Nauru
    "pw",  # Palau
    "qa",  # Qatar
    "sb",  # Solomon Islands
    "ss",  # South Sudan
    "to",  # Tonga
    "tt",  # Trinidad and Tobago
    "tv",  # Tuvalu
    "vc",  # Saint Vincent and the Grenadines
    "vu",  # Vanuatu
    "ws",  # Samoa
    "xk",  # Kosovo (user-assigned code)
}


def read_country_names() -> set[str]:
    """Return every distinct Country/Region name in the three data files."""
    names = set()
    for file_name in TIME_SERIES_FILES:
        with open(COVID_DIR / file_name, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                names.add(row["Country/Region"])
    with open(COVID_DIR / HOMEWORK_FILE, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for row in rows[HOMEWORK_HEADER_ROWS:]:
        if row and row[0]:
            names.add(row[0])
    return names


@pytest.fixture(scope="module")
def country_names() -> set[str]:
    return read_country_names()


def test_data_files_have_names(country_names):
    assert len(country_names) > 150


def test_every_name_is_known(country_names):
    unknown = sorted(name for name in country_names if not is_known(name))
    assert unknown == []


def test_table_and_no_code_set_do_not_overlap():
    assert set(CSSE_TO_ISO2) & NO_ISO_CODE == set()


def test_codes_are_two_lower_case_letters():
    bad = {name: code for name, code in CSSE_TO_ISO2.items() if not re.fullmatch("[a-z]{2}", code)}
    assert bad == {}


def test_no_two_names_share_a_code():
    names_by_code: dict[str, list[str]] = {}
    for name, code in CSSE_TO_ISO2.items():
        names_by_code.setdefault(code, []).append(name)
    shared = {code: names for code, names in names_by_code.items() if len(names) > 1}
    assert shared == {}


@pytest.mark.parametrize(
    "name, code",
    [
        ("Congo (Brazzaville)", "cg"),
        ("Congo (Kinshasa)", "cd"),
        ("Dominica", "dm"),
        ("Dominican Republic", "do"),
        ("South Sudan", "ss"),
        ("Sudan", "sd"),
        ("Korea, South", "kr"),
        ("Korea, North", "kp"),
        ("Taiwan*", "tw"),
        ("US", "us"),
        ("Burma", "mm"),
        ("Cote d'Ivoire", "ci"),
        ("Holy See", "va"),
        ("Kosovo", "xk"),
        ("West Bank and Gaza", "ps"),
        ("Eswatini", "sz"),
        ("Cabo Verde", "cv"),
        ("Czechia", "cz"),
        ("North Macedonia", "mk"),
        ("Timor-Leste", "tl"),
        ("Micronesia", "fm"),
        ("Antarctica", "aq"),
        ("Niger", "ne"),
        ("Nigeria", "ng"),
        ("Guinea", "gn"),
        ("Guinea-Bissau", "gw"),
        ("Equatorial Guinea", "gq"),
        ("Papua New Guinea", "pg"),
        ("Western Sahara", "eh"),
        ("United Kingdom", "gb"),
    ],
)
def test_tricky_names(name, code):
    assert iso2_for(name) == code


@pytest.mark.parametrize(
    "name",
    ["Diamond Princess", "MS Zaandam", "Summer Olympics 2020", "Winter Olympics 2022"],
)
def test_ships_and_olympics_have_no_code(name):
    assert iso2_for(name) is None
    assert is_known(name)


def test_unknown_name_is_not_known():
    assert iso2_for("Atlantis") is None
    assert not is_known("Atlantis")


def test_codes_missing_from_pygal_map():
    missing = set(CSSE_TO_ISO2.values()) - set(COUNTRIES)
    assert missing == MISSING_FROM_PYGAL
