"""Session-wide test set-up: fake AWS credentials, moto first, no real AWS reachable."""

import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

# moto must be imported before any boto3 client is created, so no client can bypass it.
import moto  # noqa: F401
import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "lambdas"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from mlkit.botocore_loader import share_loader  # noqa: E402

# moto's mocks make a new boto3 session for each test: each would parse botocore's models again.
share_loader()

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "POWERTOOLS_METRICS_NAMESPACE": "mlkit-test",
    "POWERTOOLS_SERVICE_NAME": "mlkit-test",
}
# Set at import as well as in the fixture: a module-level client made during
# collection must see fake credentials, never a developer's real profile.
os.environ.update(FAKE_ENV)
for leaked in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(leaked, None)


RUN_FOLDER = pytest.StashKey[Path]()


def worker_cpu(worker_id: str, cpus: list[int]) -> int:
    """The CPU xdist worker ``gw<N>`` keeps to: the Nth of those allowed, round robin."""
    return cpus[int(worker_id.removeprefix("gw")) % len(cpus)]


def keep_worker_on_one_cpu(worker_id: str) -> None:
    """This xdist worker, and every process it starts, on one CPU.

    A synth is three processes taking turns (Python, jsii's relay and its kernel in Node), a Spark job
    two (Python and the JVM over a socket): thousands of hand-offs a second. Between CPUs each hand-off
    wakes the other one, which costs far more on this 2-core VM than a switch on one CPU: make test took
    107 s against 125 s, and 128 s against 144 s, in alternating runs.
    """
    if hasattr(os, "sched_setaffinity"):  # Linux; elsewhere the workers run where the OS puts them
        os.sched_setaffinity(0, {worker_cpu(worker_id, sorted(os.sched_getaffinity(0)))})


def pytest_configure(config):
    """Each xdist worker on its own CPU (above), and one temporary folder per test run, shared by the
    workers and deleted when the run ends: the apps the tests synthesize take ~190 MB a run, which every
    run used to leave in /tmp."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller's run id
        keep_worker_on_one_cpu(config.workerinput["workerid"])
        run = config.workerinput["testrunuid"]
    else:
        run = config.getoption("testrunuid", None) or uuid.uuid4().hex
        if config.pluginmanager.hasplugin("xdist"):
            config.option.testrunuid = run  # what xdist hands its workers
    folder = Path(tempfile.gettempdir()) / f"mlkit-tests-{run}"
    folder.mkdir(exist_ok=True)
    config.stash[RUN_FOLDER] = folder
    tempfile.tempdir = str(folder)


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):  # the controller, after every worker has finished
        shutil.rmtree(config.stash[RUN_FOLDER], ignore_errors=True)


@pytest.fixture(autouse=True, scope="session")
def fake_aws_credentials():
    """Fake credentials and region for every test; real AWS is never reachable."""
    previous = {key: os.environ.get(key) for key in FAKE_ENV}
    os.environ.update(FAKE_ENV)
    yield
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def aws():
    """A moto mock of every AWS service, with the Lambdas' cached clients reset."""
    from shared.aws import reset_clients

    with moto.mock_aws():
        reset_clients()
        yield
        reset_clients()


@pytest.fixture(scope="session")
def spark():
    """One local Spark session per test process, with `make local`'s settings (tuned for start-up).

    Every test that needs Spark is in the xdist group "spark", so one JVM serves them all."""
    from mlkit.local_training import local_spark

    with local_spark() as session:
        yield session


@pytest.fixture(scope="module")
def router_run(request, tmp_path_factory):
    """A local-run Run on a moto server thread with the real router for the test module's ``CONFIG``
    (and its ``ENV``'s buckets): route checks run against it as `make local` runs them."""
    from tests.mlkit.emulated import emulated_run

    module = request.module
    with emulated_run(tmp_path_factory.mktemp(module.ENV), module.CONFIG, module.ENV) as run:
        yield run


@pytest.fixture
def retarget(router_run, monkeypatch):
    """Changes one registered model of ``router_run``'s router, for the calling test only."""
    from tests.mlkit.emulated import retargeting

    return retargeting(router_run, monkeypatch)
