"""The sample generator: deterministic per seed, dirty on purpose, churn driven by the features."""

import csv
from pathlib import Path

import pytest

from tests.python_files import load_file

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "sample-data" / "generate.py"


@pytest.fixture(scope="module")
def generate():
    # sample-data/ is not a package (its name has a hyphen): load the script by path.
    return load_file(GENERATOR, "sample_data_generate")


def test_the_same_seed_gives_the_same_table(generate):
    assert generate.generate(300, seed=3) == generate.generate(300, seed=3)
    assert generate.generate(300, seed=3) != generate.generate(300, seed=4)


def test_the_committed_file_is_what_the_default_seed_writes(generate, tmp_path):
    generate.main(["--out", str(tmp_path / "churn.csv")])
    assert (tmp_path / "churn.csv").read_bytes() == (ROOT / "sample-data" / "churn.csv").read_bytes()


def test_command_line_rows_and_seed(generate, tmp_path):
    out = tmp_path / "small.csv"
    generate.main(["--rows", "50", "--seed", "9", "--out", str(out)])
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 50 and list(rows[0]) == generate.COLUMNS


def test_the_table_is_dirty_in_the_documented_ways(generate):
    table = generate.generate(1000, seed=7)
    values = [value for row in table for value in row.values()]
    assert len(table) - len({tuple(row.values()) for row in table}) >= 10  # exact duplicates
    assert sum(value != value.strip() for value in values) >= 20  # surrounding spaces
    assert values.count("n/a") >= 2
    assert sum(row["churned"] == "" for row in table) >= 3
    assert sum(row["total_charges"] == "" for row in table) >= 3


def test_churn_depends_on_contract_and_support_calls(generate):
    table = [row for row in generate.generate(2000, seed=1) if row["churned"].strip()]

    def churn_rate(rows):
        return sum(row["churned"].strip() == "yes" for row in rows) / len(rows)

    by_contract = {
        c: churn_rate([r for r in table if r["contract"].strip() == c]) for c in generate.CONTRACTS
    }
    assert by_contract["month-to-month"] > by_contract["two-year"] + 0.25
    many_calls = [r for r in table if r["support_calls"] not in ("n/a",) and int(r["support_calls"]) >= 4]
    few_calls = [r for r in table if r["support_calls"] not in ("n/a",) and int(r["support_calls"]) == 0]
    assert churn_rate(many_calls) > churn_rate(few_calls) + 0.15
