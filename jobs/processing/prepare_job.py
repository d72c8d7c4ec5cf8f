"""SageMaker Processing entry point of the dataset transform: jobs/glue's code, on the Spark processing image.

Why the Spark image and not a pandas port: it runs the very functions the Glue job runs (transform.py
through glue_job.run), so both ways of preparing a dataset write the same curated layout by construction,
with nothing to keep in step and no second set of cleaning rules to test.

The job runs ``smspark-submit --py-files <jobs zip> prepare_job.py --raw_path s3://… --curated_path s3://…
--target … [--column_types …] [--features …] [--validation_fraction …] [--recursive true]``: the Glue
job's own arguments, read and written by Spark directly on S3 so an overwrite replaces the curated files as
the Glue job does (a Processing output would only add files beside the stale ones). ``--recursive true``
reads every file below raw_path, for a Data Wrangler job's output, which may sit in sub-folders. A raw path
known only at run time (that output's per-run prefix) comes in the environment as MLKIT_RAW_PATH: Step
Functions cannot build an argument list from fixed and run-time parts without escaping every fixed one.
No catalog table: the Spark image has no Glue Data Catalog metastore (the Glue path keeps that part).
"""

from __future__ import annotations  # the image may be Python 3.9: let main() say so, not a TypeError

import json
import os
import sys
from collections.abc import Mapping

RAW_PATH_VARIABLE = "MLKIT_RAW_PATH"
MINIMUM_PYTHON = (3, 10)  # transform.py's annotations (X | None); the Spark 3.5 image's py312 variant


def parse_arguments(argv: list[str]) -> dict[str, str]:
    """``--name value`` pairs (as Glue passes them, and ``--name=value``) into a dict."""
    arguments, index = {}, 0
    while index < len(argv):
        item = argv[index]
        if not item.startswith("--"):
            raise ValueError(f"expected --name value, got {item!r} in {argv}")
        name, equals, value = item[2:].partition("=")
        if not equals:
            if index + 1 >= len(argv):
                raise ValueError(f"argument --{name} has no value")
            index += 1
            value = argv[index]
        arguments[name] = value
        index += 1
    return arguments


def data_files(spark, path: str) -> list[str]:
    """Every data file below ``path`` (Hadoop's FileSystem: s3 and local alike), skipping the
    ``_SUCCESS`` markers and hidden checksum files Spark itself would skip."""
    jvm = spark.sparkContext._jvm
    root = jvm.org.apache.hadoop.fs.Path(path)
    filesystem = root.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    found, files = filesystem.listFiles(root, True), []
    while found.hasNext():
        status = found.next()
        name = status.getPath().getName()
        if not name.startswith(("_", ".")):
            files.append(status.getPath().toString())
    if not files:
        raise ValueError(f"no data files below {path}")
    return sorted(files)


def prepare(spark, arguments: Mapping[str, str]) -> dict:
    """Run the Glue job's transform and writes; returns schema.json's content."""
    from jobs.glue.glue_job import run

    arguments = dict(arguments)
    if "raw_path" not in arguments and os.environ.get(RAW_PATH_VARIABLE):
        arguments["raw_path"] = os.environ[RAW_PATH_VARIABLE]
    if arguments.pop("recursive", "false").lower() == "true":
        # transform() hands raw_path to Spark's CSV reader, which takes a list of files as well.
        arguments["raw_path"] = data_files(spark, arguments["raw_path"])
    return run(spark, arguments)


def main(argv: list[str] | None = None) -> None:
    if sys.version_info < MINIMUM_PYTHON:
        raise SystemExit(
            f"the dataset transform needs Python >= 3.10, this image has {sys.version.split()[0]}"
        )
    from pyspark.sql import SparkSession

    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    spark = SparkSession.builder.appName("mlkit-prepare").getOrCreate()
    try:
        metadata = prepare(spark, arguments)
    finally:
        spark.stop()
    print(json.dumps({"row_counts": metadata["row_counts"], "dropped_columns": metadata["dropped_columns"]}))


if __name__ == "__main__":
    main()
