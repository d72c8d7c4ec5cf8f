"""mlkit/spark_classes.py: local Spark sessions run on the class archive when there is one, and it maps."""

import subprocess

import pytest

from mlkit import spark_classes

# The session-wide Spark fixture: one JVM for every Spark test.
pytestmark = pytest.mark.xdist_group("spark")


def test_options_map_an_existing_archive_write_a_new_one_or_are_none(tmp_path, monkeypatch):
    archive = tmp_path / "classes.jsa"
    monkeypatch.setattr(spark_classes, "ARCHIVE", archive)
    assert spark_classes.java_options() == []

    archive.write_bytes(b"")
    assert spark_classes.java_options() == [f"-XX:SharedArchiveFile={archive}", spark_classes.QUIET]
    written = tmp_path / "new.jsa"
    assert spark_classes.java_options(archive_to=written) == [
        f"-XX:ArchiveClassesAtExit={written}",
        spark_classes.QUIET,
    ]


def test_the_session_jvm_runs_on_the_archive_when_make_local_has_built_it(spark):
    """With -Xshare:on a JVM fails instead of ignoring an archive that does not match its classes, so
    this proves the archive is used, not just passed. A fresh clone (CI's) has none: the JVM is plain."""
    jvm = spark.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    option = f"-XX:SharedArchiveFile={spark_classes.ARCHIVE}"
    if not spark_classes.ARCHIVE.exists():
        assert not [argument for argument in arguments if "SharedArchiveFile" in argument]
        return
    assert option in arguments
    classpath = jvm.java.lang.System.getProperty("java.class.path")
    java = jvm.java.lang.System.getProperty("java.home") + "/bin/java"

    mapped = subprocess.run(
        [java, "-Xshare:on", option, "-cp", classpath, "-version"], capture_output=True, text=True, timeout=60
    )

    assert mapped.returncode == 0, mapped.stdout + mapped.stderr
