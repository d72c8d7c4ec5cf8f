"""One botocore Loader per process, so each endpoint and service file is read once, however many
sessions the process makes.

botocore keeps what it reads on a session's Loader, and every Session makes a new Loader. moto makes
sessions freely: one for each error it answers, one for each account's backends, and boto3's default
session again at every mock. Each new one listed botocore's ~400 service folders and parsed its
endpoints again: ~0.2 s a session. botocore already hands every client of one session the same parsed
models, so sharing the Loader between sessions shares nothing that a session's clients did not.

boto3 appends its resource-model folder to the Loader's search paths at each Session; shared, the list
holds it once per session. Every lookup is cached on the Loader, so the repeats are never walked twice.
"""

import functools

import botocore.loaders
import botocore.session


def share_loader() -> None:
    """Make every later botocore (and boto3) Session of this process use one Loader per data path."""
    botocore.session.create_loader = _one_loader_per_data_path


_one_loader_per_data_path = functools.cache(botocore.loaders.create_loader)
