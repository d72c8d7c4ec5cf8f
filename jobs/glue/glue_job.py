"""Glue 5.0 entry point for the transform in transform.py (Spark 3.5, Python 3.11).

Job arguments (Glue passes them as `--name value`):
    required  --JOB_NAME --raw_path --curated_path --target --database --table
    optional  --column_types '{"tenure_months": "int"}'  --features '["tenure_months", ...]'
              --validation_fraction 0.2  --seed 42

`main()` is the only code that touches awsglue, and it imports it inside the function: awsglue
exists only on Glue, and importing this module elsewhere (tests, the local run) must work.
`run(spark, args)` does the rest with any SparkSession: transform, then write the outputs.
"""

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import SparkSession

# Glue runs this file as a script, with transform.py beside it (ship it in --extra-py-files).
if not __package__:
    from transform import DEFAULT_SEED, DEFAULT_VALIDATION_FRACTION, output_paths, transform, write_outputs
else:
    from .transform import DEFAULT_SEED, DEFAULT_VALIDATION_FRACTION, output_paths, transform, write_outputs

REQUIRED_ARGS = ["JOB_NAME", "raw_path", "curated_path", "target", "database", "table"]
OPTIONAL_ARGS = ["column_types", "features", "validation_fraction", "seed"]
# Glue database and table names: letters, digits and underscores (which also keeps the SQL safe).
CATALOG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class JobOptions:
    raw_path: str
    curated_path: str
    target: str
    column_types: dict[str, str] | None = None
    features: list[str] | None = None
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    seed: int = DEFAULT_SEED


def present_optional_args(argv: list[str]) -> list[str]:
    """The optional arguments given on the command line: getResolvedOptions requires all it is asked for."""
    return [
        name
        for name in OPTIONAL_ARGS
        if any(arg == f"--{name}" or arg.startswith(f"--{name}=") for arg in argv)
    ]


def json_argument(args: Mapping, name: str, expected: type):
    """A JSON job argument (a string from Glue, or already a value from a local caller); blank = unset."""
    value = args.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"job argument --{name} is not valid JSON ({error}): {value!r}") from None
    if not isinstance(value, expected):
        raise ValueError(f"job argument --{name} must be a JSON {expected.__name__}, got {value!r}")
    return value


def number_argument(args: Mapping, name: str, convert: type, default):
    value = args.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        return convert(value)
    except (TypeError, ValueError):
        raise ValueError(f"job argument --{name} must be a {convert.__name__}, got {value!r}") from None


def parse_job_args(args: Mapping) -> JobOptions:
    """Job arguments (strings, as Glue gives them, or Python values) → validated JobOptions."""
    missing = [name for name in ("raw_path", "curated_path", "target") if not args.get(name)]
    if missing:
        raise ValueError(f"missing job arguments: {', '.join('--' + name for name in missing)}")
    column_types = json_argument(args, "column_types", dict)
    features = json_argument(args, "features", list)
    fraction = number_argument(args, "validation_fraction", float, DEFAULT_VALIDATION_FRACTION)
    if not 0 < fraction < 1:
        raise ValueError(f"job argument --validation_fraction must be between 0 and 1, got {fraction}")
    return JobOptions(
        raw_path=args["raw_path"],
        curated_path=args["curated_path"],
        target=args["target"],
        column_types=column_types,
        features=features,
        validation_fraction=fraction,
        seed=number_argument(args, "seed", int, DEFAULT_SEED),
    )


def run(spark: SparkSession, args: Mapping) -> dict:
    """Transform raw_path and write the outputs under curated_path; returns schema.json's content."""
    options = parse_job_args(args)
    result = transform(
        spark,
        options.raw_path,
        options.target,
        column_types=options.column_types,
        features=options.features,
        validation_fraction=options.validation_fraction,
        seed=options.seed,
    )
    write_outputs(result, options.curated_path)
    result.rows.unpersist()
    return result.metadata


def register_table(spark: SparkSession, database: str, table: str, location: str) -> None:
    """Catalogue the Parquet copy (Glue 5.0 uses the Glue Data Catalog as Spark's metastore).

    IF NOT EXISTS: a later run with new columns keeps the first schema; drop the table to refresh it.
    """
    for kind, name in (("database", database), ("table", table)):
        if not CATALOG_NAME.fullmatch(name):
            raise ValueError(f"{kind} name {name!r} must be letters, digits and underscores")
    escaped = location.replace("\\", "\\\\").replace("'", "\\'")
    spark.sql(f"CREATE TABLE IF NOT EXISTS `{database}`.`{table}` USING parquet LOCATION '{escaped}'")
    spark.sql(f"REFRESH TABLE `{database}`.`{table}`")


def main(argv: list[str] | None = None) -> None:
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    argv = sys.argv if argv is None else argv
    args = getResolvedOptions(argv, REQUIRED_ARGS + present_optional_args(argv))
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    spark = glue_context.spark_session
    metadata = run(spark, args)
    register_table(spark, args["database"], args["table"], output_paths(args["curated_path"])["parquet"])
    print(json.dumps({"row_counts": metadata["row_counts"], "dropped_columns": metadata["dropped_columns"]}))
    job.commit()


if __name__ == "__main__":
    main()
