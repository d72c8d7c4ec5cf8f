"""Generate a realistic, slightly dirty customer-churn table (standard library only).

    python sample-data/generate.py [--rows N] [--seed S] [--out PATH]

Churn follows a logistic model of the features plus noise, so a model can clearly beat the
majority class (validation AUC around 0.8). The data is dirty on purpose, to exercise the Glue
transform: blank totals and targets, exact duplicate rows, values with surrounding spaces and a
few unparsable numbers ("n/a"). The same seed always writes the same file.
"""

import argparse
import csv
import math
import random
from pathlib import Path

COLUMNS = [
    "customer_id",
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "contract",
    "payment_method",
    "internet_service",
    "support_calls",
    "senior",
    "churned",
]
CONTRACTS = {"month-to-month": 0.55, "one-year": 0.25, "two-year": 0.20}
PAYMENT_METHODS = {"electronic-check": 0.35, "mailed-check": 0.2, "bank-transfer": 0.22, "credit-card": 0.23}
INTERNET_SERVICES = {"dsl": 0.35, "fiber": 0.45, "none": 0.20}
# Monthly price range per internet service: fibre costs most, phone-only least.
CHARGE_RANGES = {"dsl": (40.0, 65.0), "fiber": (70.0, 110.0), "none": (18.0, 26.0)}
DEFAULT_OUT = Path(__file__).resolve().parent / "churn.csv"


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def tenure_for(rng: random.Random, contract: str) -> int:
    """Longer contracts go with longer tenure; month-to-month customers are often new."""
    mean = {"month-to-month": 14, "one-year": 32, "two-year": 50}[contract]
    months = rng.expovariate(1 / mean) if contract == "month-to-month" else rng.gauss(mean, 15)
    return max(0, min(72, round(months)))


def churn_probability(customer: dict) -> float:
    """The hidden truth the model has to learn: a logistic function of the features."""
    logit = (
        -1.3
        + 1.4 * (customer["contract"] == "month-to-month")
        - 1.0 * (customer["contract"] == "two-year")
        - 0.035 * customer["tenure_months"]
        + 0.35 * customer["support_calls"]
        + 0.02 * (customer["monthly_charges"] - 65)
        + 0.45 * (customer["payment_method"] == "electronic-check")
        + 0.3 * (customer["senior"] == "yes")
    )
    return 1 / (1 + math.exp(-logit))


def make_customer(rng: random.Random, number: int) -> dict:
    contract = pick(rng, CONTRACTS)
    internet = pick(rng, INTERNET_SERVICES)
    low, high = CHARGE_RANGES[internet]
    customer = {
        "customer_id": f"C{number:05d}",
        "tenure_months": tenure_for(rng, contract),
        "monthly_charges": round(rng.uniform(low, high), 2),
        "contract": contract,
        "payment_method": pick(rng, PAYMENT_METHODS),
        "internet_service": internet,
        "support_calls": min(9, int(rng.expovariate(1 / 1.5))),
        "senior": "yes" if rng.random() < 0.16 else "no",
    }
    months_billed = customer["tenure_months"] * rng.uniform(0.97, 1.03)
    customer["total_charges"] = round(customer["monthly_charges"] * months_billed, 2)
    # Noise on the logit keeps the task learnable but not trivial.
    noisy = min(0.98, max(0.02, churn_probability(customer) + rng.gauss(0, 0.08)))
    customer["churned"] = "yes" if rng.random() < noisy else "no"
    return {column: str(customer[column]) for column in COLUMNS}


def make_dirty(rng: random.Random, row: dict) -> dict:
    """Blanks, stray spaces and unparsable numbers, as exported spreadsheets have."""
    row = dict(row)
    if row["tenure_months"] == "0" or rng.random() < 0.01:
        row["total_charges"] = ""  # new customers have not been billed yet
    if rng.random() < 0.012:
        row["churned"] = ""
    if rng.random() < 0.003:
        row[rng.choice(["monthly_charges", "tenure_months", "support_calls"])] = "n/a"
    for column in ("contract", "payment_method", "senior", "churned", "monthly_charges"):
        if row[column] and rng.random() < 0.03:
            row[column] = rng.choice([" ", "  ", ""]) + row[column] + rng.choice([" ", "  "])
    return row


def generate(rows: int = 1000, seed: int = 7) -> list[dict]:
    """`rows` rows in all, about 2% of them exact copies of earlier rows."""
    rng = random.Random(seed)
    duplicates = rows // 50
    table = [make_dirty(rng, make_customer(rng, number)) for number in range(1, rows - duplicates + 1)]
    for _ in range(duplicates):
        copy = dict(rng.choice(table))
        table.insert(rng.randrange(len(table) + 1), copy)
    # Two guaranteed unparsable numbers, so every generated file has some.
    table[3]["monthly_charges"] = "n/a"
    table[len(table) // 2]["tenure_months"] = "n/a"
    return table


def write_csv(table: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows in all, duplicates included")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.rows < 10:
        parser.error("--rows must be at least 10")
    write_csv(generate(args.rows, args.seed), args.out)
    print(f"wrote {args.rows} rows to {args.out}")


if __name__ == "__main__":
    main()
