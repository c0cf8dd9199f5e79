from datetime import date

from observatory import formatting as fmt

NNBSP = "\u202f"


def test_thousands_are_grouped_with_a_narrow_no_break_space():
    assert fmt.number(214000) == f"214{NNBSP}000"
    assert fmt.number(2_600_000) == f"2{NNBSP}600{NNBSP}000"
    assert fmt.number(999) == "999"


def test_decimals_use_a_comma():
    assert fmt.number(1234.56, 1) == f"1{NNBSP}234,6"
    assert fmt.percent(12.1) == f"12,1{NNBSP}%"
    assert fmt.percent(10.54) == f"10,5{NNBSP}%"
    assert fmt.percent(7, decimals=0) == f"7{NNBSP}%"


def test_signed_changes_and_money():
    assert fmt.signed_percent(1.26) == f"+1,3{NNBSP}%"
    assert fmt.signed_percent(-0.42) == f"\u22120,4{NNBSP}%"
    assert fmt.euros(1234567) == f"1{NNBSP}234{NNBSP}567\u00a0€"


def test_missing_values_read_as_a_dash():
    assert fmt.number(None) == "–"
    assert fmt.percent(float("nan")) == "–"


def test_dates_are_written_in_french():
    assert fmt.long_date(date(2026, 11, 22)) == "22 novembre 2026"
    assert fmt.long_date(date(2024, 2, 1)) == "1 février 2024"


def test_file_sizes_and_durations_read_in_french_units():
    assert fmt.file_size(1_934_000_000) == "1,9\u00a0Go"  # StockEtablissement, about 2 GB
    assert fmt.file_size(901_000_000) == "901\u00a0Mo"
    assert fmt.file_size(3_332) == "3,3\u00a0ko"
    assert fmt.file_size(1) == "1\u00a0octet"
    assert fmt.duration(4.23) == "4,2\u00a0s"
    assert fmt.duration(192) == "3\u00a0min 12\u00a0s"
    assert fmt.duration(4_000) == "1\u00a0h 06\u00a0min"


def test_de_before_a_proper_name_elides_and_contracts():
    assert fmt.of_name("Agen") == "d'Agen"
    assert fmt.of_name("Occitanie") == "d'Occitanie"
    assert fmt.of_name("Le Havre") == "du Havre"
    assert fmt.of_name("Les Mées") == "des Mées"
    assert fmt.of_name("La Rochelle") == "de La Rochelle"
    assert fmt.of_name("Mende") == "de Mende"
    assert fmt.of_name("Hendaye") == "de Hendaye"


def test_pandas_missing_values_read_as_missing():
    """Nullable Int64 and Float64 columns (observatory.table, key_figures) hold pd.NA."""
    import pandas as pd

    assert fmt.number(pd.NA) == fmt.MISSING and fmt.percent(pd.NA) == fmt.MISSING
    assert fmt.number(pd.array([4333], dtype="Int64")[0]) == "4\u202f333"
