"""Java class-data sharing for the local Spark sessions: the classes a session loads, archived once.

A JVM that maps the archive skips reading, parsing and verifying ~10,000 classes from Spark's jars, so
a local session starts and runs its first job ~5 s sooner (make local's Glue transform, the job tests).
The archive is a cache under .cache/: `make local` builds it when the requirements change
(``python -m mlkit.spark_classes``, ~25 s, most of it the JVM writing 140 MB as it exits), and `make test`
uses it when it is there. A JVM that finds it missing, or made from other jars or another Java, loads
classes as usual.
"""

import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = ROOT / ".cache" / "spark-classes.jsa"
# The job whose classes are archived: the Glue transform on the shipped sample, written as the job writes.
SAMPLE_CSV = ROOT / "sample-data" / "churn.csv"
SAMPLE_TARGET = "churned"
# CDS reports (classes it cannot archive, an archive it cannot map) are not the user's concern.
QUIET = "-Xlog:cds*=off"


def java_options(*, archive_to: Path | None = None) -> list[str]:
    """The JVM options that map the archive (none while there is none), or that write one to
    ``archive_to`` when the JVM exits."""
    if archive_to is not None:
        return [f"-XX:ArchiveClassesAtExit={archive_to}", QUIET]
    if ARCHIVE.exists():
        return [f"-XX:SharedArchiveFile={ARCHIVE}", QUIET]
    return []


def build() -> str:
    """Run the sample Glue transform in a JVM that archives its classes, then put the archive in place."""
    from jobs.glue.transform import transform, write_outputs
    from mlkit.local_training import java_problem, local_spark

    if problem := java_problem():
        return f"no Spark class archive: {problem}"
    ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    partial = ARCHIVE.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlkit-spark-classes-") as output:
        with local_spark(archive_to=partial) as spark:
            write_outputs(transform(spark, str(SAMPLE_CSV), SAMPLE_TARGET), output)
            jvm = spark.sparkContext._gateway.proc
        # The JVM writes the archive as it exits, which it does when its stdin closes.
        jvm.stdin.close()
        jvm.wait(timeout=300)
    if not partial.exists():
        return "no Spark class archive: the JVM wrote none"
    partial.replace(ARCHIVE)
    return f"Spark class archive: {ARCHIVE.relative_to(ROOT)} ({ARCHIVE.stat().st_size // 2**20} MiB)"


if __name__ == "__main__":
    print(build())
