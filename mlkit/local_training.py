"""The custom models' real ML code on the workstation: the Glue transform on local Spark, XGBoost.

The pyspark wheel carries no S3 connector (s3a), so the emulator's S3 is copied down to a
temporary directory, Spark and XGBoost run on local paths, and the outputs are copied back up
under the keys the Glue job and the training job write on AWS.

XGBoost (jobs/training/train.py) is imported by the functions that train or serve, not with the module:
it takes ~1 s, and most importers only need Spark or the S3 copies.
"""

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

JAVA_HINT = "Spark needs Java 17: apt-get install openjdk-17-jre-headless (or brew install openjdk@17)"
# Set for the local run only: OpenMP threads spin-waiting on a small machine make training ~100x slower.
LOCAL_HYPERPARAMETERS = {"nthread": "1"}
MODEL_ARCHIVE = "model.tar.gz"
# Spark's errors only, on stderr: its start-up warnings would bury the report's progress lines.
SPARK_LOGGING = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = spark %p %c{1}: %m%n
# pyspark counts as a shell: Spark takes its gateway's logger level as the default, or says it picked WARN.
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""


def java_problem() -> str | None:
    """Why Spark cannot start here (with the install hint), or None when `java -version` works."""
    java = shutil.which("java")
    if java is None:
        return f"no java on PATH; {JAVA_HINT}"
    try:
        subprocess.run([java, "-version"], capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as error:
        return f"`java -version` failed ({type(error).__name__}); {JAVA_HINT}"
    return None


@contextmanager
def local_spark(*, archive_to: Path | None = None):
    """A local[1] SparkSession with the fast settings of tests/jobs/conftest.py, and the class archive of
    mlkit/spark_classes.py (or, with ``archive_to``, a JVM that writes one there as it exits).

    An already active session (a test's) is reused and left running; one started here is stopped.
    """
    from py4j.java_gateway import java_import
    from pyspark.sql import SparkSession

    from mlkit import spark_classes

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no hostname warning, nothing listens outside
    with tempfile.TemporaryDirectory(prefix="mlkit-spark-") as directory:
        logging = Path(directory) / "log4j2.properties"
        logging.write_text(SPARK_LOGGING)
        java_options = " ".join(
            ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", f"-Dlog4j2.configurationFile=file:{logging}"]
            + spark_classes.java_options(archive_to=archive_to)
        )
        session = (
            SparkSession.builder.master("local[1]")
            .appName("mlkit-local-run")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")  # the report's progress lines stay readable
            .config("spark.sql.adaptive.enabled", "false")
            # Interpreted, not compiled, query plans: on a thousand rows Janino's compiling costs far
            # more than it saves (the job tests ran ~18% faster). Glue itself runs jobs/glue unchanged.
            .config("spark.sql.codegen.wholeStage", "false")
            .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
            .config("spark.driver.extraJavaOptions", java_options)
            .config("spark.sql.warehouse.dir", str(Path(directory) / "warehouse"))
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        # pyspark finds `functions` (each F.* call) through wildcard imports, and each miss makes the JVM
        # search all ~250 jars for a class: imported by name, a transform takes ~20% less.
        java_import(session._jvm, "org.apache.spark.sql.functions")
        try:
            yield session
        finally:
            session.stop()


# ---- S3 <-> local directories ---------------------------------------------------------


def object_keys(s3, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def download_prefix(s3, bucket: str, prefix: str, target: Path) -> list[Path]:
    """Copy every object under ``prefix`` into ``target``, keeping the key's path below the prefix."""
    files = []
    for key in object_keys(s3, bucket, prefix):
        relative = key[len(prefix) :]
        if not relative or relative.endswith("/"):
            continue
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(path))
        files.append(path)
    return files


def replace_prefix(s3, source: Path, bucket: str, prefix: str) -> list[str]:
    """Make ``prefix`` hold exactly the files under ``source`` (like Spark's overwrite mode on S3).

    Hidden files (Hadoop's .crc checksums) stay behind: Glue writes none on S3.
    """
    stale = object_keys(s3, bucket, prefix)
    for start in range(0, len(stale), 1000):
        batch = [{"Key": key} for key in stale[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    keys = []
    for path in sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith(".")):
        key = prefix + path.relative_to(source).as_posix()
        s3.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys


# ---- the Glue transform --------------------------------------------------------------


def glue_arguments(definition, raw_path: str, curated_path: str) -> dict[str, str]:
    """The job's arguments as the dataset stack sets them from the dataset's definition."""
    arguments = {"raw_path": raw_path, "curated_path": curated_path, "target": definition.target}
    if definition.column_types:
        arguments["column_types"] = dict(definition.column_types)
    if definition.features:
        arguments["features"] = list(definition.features)
    if definition.validation_fraction is not None:
        arguments["validation_fraction"] = str(definition.validation_fraction)
    return arguments


def run_glue_transform(spark, s3, buckets: dict[str, str], dataset: str, definition, workdir: Path) -> dict:
    """raw/<dataset>/ → jobs/glue/glue_job.run() on local Spark → curated/<dataset>/; answers schema.json."""
    from jobs.glue import glue_job

    raw_dir, curated_dir = workdir / "raw", workdir / "curated"
    if not download_prefix(s3, buckets["raw"], f"{dataset}/", raw_dir):
        raise FileNotFoundError(f"no raw data under s3://{buckets['raw']}/{dataset}/")
    metadata = glue_job.run(spark, glue_arguments(definition, str(raw_dir), str(curated_dir)))
    metadata["uploaded"] = replace_prefix(s3, curated_dir, buckets["curated"], f"{dataset}/")
    return metadata


# ---- training, packaging, serving ----------------------------------------------------


@dataclass
class TrainedModel:
    booster: object  # xgboost.Booster, as trained
    metrics: dict[str, float]  # "validation:auc": ..., as the built-in algorithm names them
    baseline: dict[str, float]  # the same metrics for the majority-class model
    hyperparameters: dict[str, str]
    archive: bytes  # model.tar.gz holding xgboost-model
    validation_dir: Path
    train_rows: int


def local_hyperparameters(model) -> dict[str, str]:
    """Strings, as the built-in container receives them (the pipeline's HyperParameters), plus nthread."""
    return {**{key: str(value) for key, value in model.hyperparameters.items()}, **LOCAL_HYPERPARAMETERS}


def download_channels(s3, curated_bucket: str, dataset: str, target: Path) -> dict[str, Path]:
    """The train and validation channels, copied down as SageMaker's File mode does."""
    channels = {}
    for channel in ("train", "validation"):
        channels[channel] = target / channel
        if not download_prefix(s3, curated_bucket, f"{dataset}/xgboost/{channel}/", channels[channel]):
            raise FileNotFoundError(
                f"no {channel} data under s3://{curated_bucket}/{dataset}/xgboost/{channel}/"
            )
    return channels


def train_model(model, channels: dict[str, Path]) -> TrainedModel:
    from jobs.training import train as training

    hyperparameters = local_hyperparameters(model)
    booster, metrics = training.train(
        hyperparameters, channels["train"], channels["validation"], verbose=False
    )
    baseline = training.majority_class_baseline(hyperparameters, channels["train"], channels["validation"])
    labels, _ = training.read_label_first_csv(channels["train"])
    return TrainedModel(
        booster=booster,
        metrics=metrics,
        baseline=baseline,
        hyperparameters=hyperparameters,
        archive=package_model(booster),
        validation_dir=channels["validation"],
        train_rows=len(labels),
    )


def package_model(booster) -> bytes:
    """model.tar.gz with xgboost-model at its root, byte-for-byte the same for the same model."""
    from jobs.training import train as training

    with tempfile.TemporaryDirectory() as directory:
        model_file = training.save_model(booster, directory)
        data = model_file.read_bytes()
    member = tarfile.TarInfo(training.MODEL_FILE)
    member.size, member.mtime, member.mode = len(data), 0, 0o644
    buffer = io.BytesIO()
    # mtime 0 in the gzip header too: the same model always gives the same archive, hence the same URL.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.USTAR_FORMAT) as archive,
    ):
        archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def archive_key(label: str, archive: bytes) -> str:
    """Under models/<label>/ like a training job's output; named by content, so a rerun changes nothing."""
    digest = hashlib.sha256(archive).hexdigest()[:12]
    return f"models/{label}/local-{digest}/output/{MODEL_ARCHIVE}"


def load_archive(archive: bytes):
    """The model an endpoint would serve: unpacked from model.tar.gz and loaded by train.py's model_fn."""
    from jobs.training import train as training

    with tempfile.TemporaryDirectory() as directory:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as unpacked:
            unpacked.extractall(directory, filter="data")
        return training.model_fn(directory)


def feature_rows(validation_dir: Path, count: int, rng) -> str:
    """``count`` random validation rows as a text/csv request: features only, the label removed."""
    from jobs.training import train as training

    lines = [
        line
        for path in training.data_files(validation_dir)
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    chosen = rng.sample(lines, min(count, len(lines)))
    return "\n".join(line.split(",", 1)[1] for line in chosen)


def predict_csv(served_model, request_csv: str) -> str:
    """What the model answers for a text/csv request, through train.py's serving functions."""
    from jobs.training import train as training

    data = training.input_fn(request_csv, training.CSV_CONTENT_TYPE)
    return training.output_fn(training.predict_fn(data, served_model), training.CSV_CONTENT_TYPE)
