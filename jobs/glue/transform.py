"""Turn a raw CSV table into training data for SageMaker XGBoost and Autopilot, in plain PySpark.

The steps run in this order, each a small function:
read (every column a string) → trim → try_cast to the schema → drop rows without a target →
de-duplicate → encode categoricals → split train/validation.

`transform()` runs them and returns the cleaned rows plus a metadata dict (schema.json);
`write_outputs()` writes the curated layout under one base path (s3://…, s3a://… or a local dir):

    xgboost/train/, xgboost/validation/   label first, no header (SageMaker built-in XGBoost, text/csv)
    autopilot/                            features + target WITH a header (Autopilot reads it by name)
    parquet/                              every cleaned column plus a `split` column (the catalogued table)
    metadata/schema.json                  feature order, types, encodings, dropped columns, row counts

Nothing here imports awsglue, so the same code runs on Glue, on a workstation and in tests.
"""

import json
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

COLUMN_TYPES = ("int", "double", "string", "boolean")
NUMERIC_TYPES = ("int", "double")
# Values that mean "missing" in a numeric column; they do not make it categorical when inferring.
MISSING_MARKERS = ("n/a", "na", "nan", "null", "?")
# A binary target's positive class (label 1) is its one value listed here (case-insensitive);
# otherwise (neither or both listed) it is the later of the two in sorted order.
POSITIVE_VALUES = ("yes", "true", "y", "t", "1", "positive")
# A string column with more distinct values than this share of rows is an identifier, not a feature.
IDENTIFIER_SHARE = 0.5
SPLIT_COLUMN = "split"
DEFAULT_VALIDATION_FRACTION = 0.2
DEFAULT_SEED = 42


class DataError(ValueError):
    """The input cannot become training data; the message says which check failed and why."""


@dataclass
class TransformResult:
    rows: DataFrame  # every cleaned, typed column plus `split` ("train" / "validation"); cached
    metadata: dict  # what schema.json holds


def quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def read_raw_csv(spark: SparkSession, path: str) -> DataFrame:
    """Every column as a string: types are decided later, by the schema, not by Spark's guess."""
    return (
        spark.read.option("header", True)
        .option("inferSchema", False)
        .option("escape", '"')  # RFC 4180 quoting, as spreadsheets and Python's csv write it
        .option("mode", "PERMISSIVE")
        .csv(path)
    )


def check_columns(df: DataFrame, target: str) -> None:
    """Fail early on a file without a header or without the target column."""
    if not df.columns:
        raise DataError("empty input: the CSV has no header and no rows")
    if target not in df.columns:
        raise DataError(f"target column {target!r} is missing; the columns present are {df.columns}")
    if SPLIT_COLUMN in df.columns:
        raise DataError(f"the input has a column named {SPLIT_COLUMN!r}, which the outputs use for the split")


def check_column_types(columns: list[str], given: dict[str, str] | None) -> dict[str, str]:
    given = dict(given or {})
    unknown = sorted(set(given) - set(columns))
    if unknown:
        raise DataError(f"column_types names columns not in the input: {unknown}; present: {columns}")
    bad_types = {c: t for c, t in given.items() if t not in COLUMN_TYPES}
    if bad_types:
        raise DataError(f"column_types has unknown types {bad_types}; allowed: {list(COLUMN_TYPES)}")
    return given


def trim_strings(df: DataFrame) -> DataFrame:
    """Strip surrounding whitespace from every value; a value left empty becomes null."""
    trimmed = [F.regexp_replace(F.col(quoted(c)), r"^\s+|\s+$", "") for c in df.columns]
    return df.select(
        *[F.nullif(value, F.lit("")).alias(c) for value, c in zip(trimmed, df.columns, strict=True)]
    )


def is_present(column: str) -> Column:
    return F.col(quoted(column)).isNotNull() & ~F.lower(F.col(quoted(column))).isin(*MISSING_MARKERS)


def try_cast(column: str, column_type: str) -> Column:
    return F.expr(f"try_cast({quoted(column)} AS {column_type.upper()})")


def count_where(condition: Column, name: str) -> Column:
    return F.count(F.when(condition, 1)).alias(name)


def profile_columns(df: DataFrame, given: dict[str, str]) -> dict[str, int]:
    """One pass over the trimmed rows counting all that type inference and schema.json need."""
    counts = [F.count(F.lit(1)).alias("rows")]
    for c in df.columns:
        value = F.col(quoted(c))
        if c not in given:
            counts.append(count_where(is_present(c), f"present:{c}"))
            counts.append(count_where(value.isNotNull() & ~is_present(c), f"markers:{c}"))
            for numeric in NUMERIC_TYPES:
                counts.append(
                    count_where(is_present(c) & try_cast(c, numeric).isNull(), f"not_{numeric}:{c}")
                )
        elif given[c] != "string":
            counts.append(count_where(value.isNotNull() & try_cast(c, given[c]).isNull(), f"unparsable:{c}"))
    return df.select(*counts).first().asDict()


def infer_type(column: str, profile: dict[str, int]) -> str:
    """int if every present value parses as an int, else double if all parse as doubles, else string."""
    if profile[f"present:{column}"] == 0 or profile[f"not_double:{column}"]:
        return "string"
    return "double" if profile[f"not_int:{column}"] else "int"


def resolve_column_types(
    columns: list[str], given: dict[str, str], profile: dict[str, int]
) -> dict[str, str]:
    """Given types win; every other column is inferred from the profile."""
    return {c: given[c] if c in given else infer_type(c, profile) for c in columns}


def count_unparsable(types: dict[str, str], given: dict[str, str], profile: dict[str, int]) -> dict[str, int]:
    """Values that try_cast turns into null, per column; for inferred numbers, the missing markers."""
    counts = {}
    for c, column_type in types.items():
        if column_type != "string":
            counts[c] = profile[f"unparsable:{c}"] if c in given else profile[f"markers:{c}"]
    return {c: n for c, n in counts.items() if n}


def cast_columns(df: DataFrame, column_types: dict[str, str]) -> DataFrame:
    """try_cast never fails a row: an unparsable value (or NaN) becomes null, i.e. missing."""
    columns = []
    for c in df.columns:
        value = try_cast(c, column_types[c]) if column_types[c] != "string" else F.col(quoted(c))
        if column_types[c] == "double":
            value = F.when(~F.isnan(value), value)
        columns.append(value.alias(c))
    return df.select(*columns)


def drop_rows_without_target(df: DataFrame, target: str) -> DataFrame:
    return df.filter(F.col(quoted(target)).isNotNull())


def drop_duplicates(df: DataFrame) -> DataFrame:
    """Exact duplicate rows (after cleaning) would count twice and could straddle the split."""
    return df.dropDuplicates()


def choose_features(
    df: DataFrame, target: str, column_types: dict[str, str], features: list[str] | None, rows: int
) -> tuple[list[str], dict[str, str]]:
    """Given features are kept as listed; otherwise every column but the target and identifiers."""
    if features is not None:
        missing = [c for c in features if c not in df.columns]
        if missing or target in features or not features:
            raise DataError(
                f"features must name input columns other than the target {target!r}: got {features}, "
                f"not in input: {missing}; present: {df.columns}"
            )
        return list(features), {
            c: "not in the given features" for c in df.columns if c not in features + [target]
        }
    candidates = [c for c in df.columns if c != target and column_types[c] == "string"]
    distinct = (
        df.select(*[F.countDistinct(F.col(quoted(c))).alias(c) for c in candidates]).first()
        if candidates
        else {}
    )
    dropped = {
        c: f"identifier-like: {distinct[c]} distinct values in {rows} rows (> {IDENTIFIER_SHARE:.0%})"
        for c in candidates
        if distinct[c] > IDENTIFIER_SHARE * rows
    }
    return [c for c in df.columns if c != target and c not in dropped], dropped


def category_values(df: DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """Sorted distinct values per column: the same data always gives the same codes."""
    if not columns:
        return {}
    row = df.select(*[F.array_sort(F.collect_set(F.col(quoted(c)))).alias(c) for c in columns]).first()
    return {c: list(row[c]) for c in columns}


def target_encoding(target: str, target_type: str, values: list[str] | None) -> dict:
    """How the target becomes the label: binary → 0/1, more classes → sorted codes, numbers as is."""
    if target_type in NUMERIC_TYPES:
        return {"kind": "numeric"}
    if target_type == "boolean":
        return {"kind": "binary", "positive_class": "true", "codes": {"false": 0, "true": 1}}
    if len(values) < 2:
        raise DataError(
            f"target {target!r} has a single value {values} after cleaning: there is nothing to learn"
        )
    if len(values) > 2:
        return {"kind": "multiclass", "codes": {value: code for code, value in enumerate(values)}}
    listed = [v for v in values if v.lower() in POSITIVE_VALUES]
    positive = listed[0] if len(listed) == 1 else values[1]
    negative = values[0] if positive == values[1] else values[1]
    return {"kind": "binary", "positive_class": positive, "codes": {negative: 0, positive: 1}}


def code_lookup(column: str, codes: dict[str, int]) -> Column:
    """A value's code through a literal map; null (missing) stays null."""
    if not codes:
        return F.lit(None).cast("int")
    pairs = [item for value, code in codes.items() for item in (F.lit(value), F.lit(code))]
    return F.create_map(*pairs)[F.col(quoted(column))]


def encoded_value(column: str, column_type: str, codes: dict[str, int] | None) -> Column:
    if codes is not None:
        return code_lookup(column, codes)
    if column_type == "boolean":
        return F.col(quoted(column)).cast("int")
    return F.col(quoted(column))


def label_and_features(rows: DataFrame, metadata: dict) -> DataFrame:
    """Numbers only, label first then features in schema order, plus `split`: the XGBoost layout."""
    target, types = metadata["target"], metadata["column_types"]
    encoding = metadata["target_encoding"]
    label = encoded_value(target, types[target], encoding.get("codes")).alias(target)
    features = [
        encoded_value(c, types[c], metadata["category_encodings"].get(c)).alias(c)
        for c in metadata["features"]
    ]
    return rows.select(label, *features, F.col(SPLIT_COLUMN))


def split_rows(df: DataFrame, validation_fraction: float, seed: int) -> DataFrame:
    """randomSplit with a seed, kept as a `split` column so every output agrees on each row."""
    if not 0 < validation_fraction < 1:
        raise DataError(f"validation_fraction must be between 0 and 1, got {validation_fraction}")
    train, validation = df.randomSplit([1 - validation_fraction, validation_fraction], seed=seed)
    return train.withColumn(SPLIT_COLUMN, F.lit("train")).unionByName(
        validation.withColumn(SPLIT_COLUMN, F.lit("validation"))
    )


def count_splits(rows: DataFrame, total: int, validation_fraction: float) -> dict[str, int]:
    counts = {row[SPLIT_COLUMN]: row["count"] for row in rows.groupBy(SPLIT_COLUMN).count().collect()}
    counts = {name: counts.get(name, 0) for name in ("train", "validation")}
    empty = [name for name, count in counts.items() if count == 0]
    if empty:
        raise DataError(
            f"every row was dropped at step 'split': the {empty[0]} split is empty "
            f"({total} rows, validation_fraction {validation_fraction}); "
            "it needs more rows or another fraction"
        )
    return counts


def transform(
    spark: SparkSession,
    raw_path: str,
    target: str,
    *,
    column_types: dict[str, str] | None = None,
    features: list[str] | None = None,
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
    seed: int = DEFAULT_SEED,
) -> TransformResult:
    """Run every step on the CSV at raw_path (a file or a directory of files)."""
    raw = read_raw_csv(spark, raw_path)
    check_columns(raw, target)
    given = check_column_types(raw.columns, column_types)
    trimmed = trim_strings(raw).cache()  # filled by the profile pass, so the CSV is read once more at most
    profile = profile_columns(trimmed, given)
    counts = {"read": profile["rows"]}
    if counts["read"] == 0:
        raise DataError(f"empty input: the CSV has a header ({len(raw.columns)} columns) but no rows")
    types = resolve_column_types(raw.columns, given, profile)
    with_target = drop_rows_without_target(cast_columns(trimmed, types), target)
    counts["with_target"] = with_target.count()
    if counts["with_target"] == 0:
        raise DataError(
            f"every row was dropped at step 'drop rows without target': none of the {counts['read']} rows "
            f"has a {types[target]} value in {target!r} after trimming and try_cast"
        )
    cleaned = drop_duplicates(with_target).cache()
    counts["deduplicated"] = cleaned.count()
    trimmed.unpersist()
    chosen, dropped = choose_features(cleaned, target, types, features, counts["deduplicated"])
    categorical = [c for c in chosen if types[c] == "string"]
    values = category_values(cleaned, categorical + ([target] if types[target] == "string" else []))
    metadata = {
        "target": target,
        "target_encoding": target_encoding(target, types[target], values.pop(target, None)),
        "features": chosen,
        "column_types": types,
        "inferred_types": sorted(set(types) - set(given)),
        "category_encodings": {c: {v: code for code, v in enumerate(values[c])} for c in categorical},
        "dropped_columns": dropped,
        "unparsable_values": count_unparsable(types, given, profile),
        "split": {"validation_fraction": validation_fraction, "seed": seed},
    }
    rows = split_rows(cleaned, validation_fraction, seed).cache()  # the outputs all read it
    counts.update(count_splits(rows, counts["deduplicated"], validation_fraction))
    cleaned.unpersist()
    metadata["row_counts"] = counts
    return TransformResult(rows=rows, metadata=metadata)


def write_csv(df: DataFrame, path: str, *, header: bool) -> None:
    """One CSV file per directory (coalesce(1)); RFC 4180 quoting; null is an empty field."""
    df.coalesce(1).write.mode("overwrite").option("header", header).option("escape", '"').csv(path)


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """A single file through Hadoop's FileSystem, so s3://, s3a:// and local paths all work."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    filesystem = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = filesystem.create(hadoop_path, True)
    try:
        stream.write(text.encode("utf-8"))
    finally:
        stream.close()


# Where each output goes, relative to the curated base path.
OUTPUTS = {
    "xgboost_train": "xgboost/train/",
    "xgboost_validation": "xgboost/validation/",
    "autopilot": "autopilot/",
    "parquet": "parquet/",
    "schema": "metadata/schema.json",
}


def output_paths(curated_path: str) -> dict[str, str]:
    base = curated_path.rstrip("/") + "/"
    return {name: base + relative for name, relative in OUTPUTS.items()}


def write_outputs(result: TransformResult, curated_path: str) -> dict[str, str]:
    """Write every output under curated_path; returns the paths written, by name."""
    spark, metadata, paths = result.rows.sparkSession, result.metadata, output_paths(curated_path)
    # No _SUCCESS marker: the built-in XGBoost sniffs the CSV delimiter from the first file it lists.
    spark.sparkContext._jsc.hadoopConfiguration().set(
        "mapreduce.fileoutputcommitter.marksuccessfuljobs", "false"
    )
    encoded = label_and_features(result.rows, metadata)
    for split in ("train", "validation"):
        subset = encoded.filter(F.col(SPLIT_COLUMN) == split).drop(SPLIT_COLUMN)
        write_csv(subset, paths[f"xgboost_{split}"], header=False)
    write_csv(result.rows.select(*metadata["features"], metadata["target"]), paths["autopilot"], header=True)
    result.rows.write.mode("overwrite").parquet(paths["parquet"])
    write_text(spark, paths["schema"], json.dumps({**metadata, "outputs": OUTPUTS}, indent=2) + "\n")
    return paths
