"""Powertools' REST API resolver, without the rest of its ``event_handler`` package.

``aws_lambda_powertools/event_handler/__init__.py`` imports every resolver Powertools has, and
the AppSync ones pull in asyncio: ~20 ms of cold start (7% of the boto3 floor) that a REST
router never uses. So the package is registered without running its ``__init__`` and only
``event_handler.api_gateway`` is imported. The first time any other code reads a name from the
package, the real ``__init__`` runs, so ``from aws_lambda_powertools.event_handler import X``
keeps working everywhere else.
"""

import importlib.util
import sys

PACKAGE = "aws_lambda_powertools.event_handler"


def _register_package_without_init() -> None:
    if PACKAGE in sys.modules:  # already imported in full by someone else: nothing to save
        return
    spec = importlib.util.find_spec(PACKAGE)
    package = importlib.util.module_from_spec(spec)

    def initialise_on_first_use(name: str):
        if importlib.util.find_spec(f"{PACKAGE}.{name}") is not None:
            # A submodule (``from ...event_handler import content_types``): let the import system load it.
            raise AttributeError(name)
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = initialise_on_first_use  # PEP 562 module __getattr__
    sys.modules[PACKAGE] = package


_register_package_without_init()

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, Response  # noqa: E402

__all__ = ["APIGatewayRestResolver", "Response"]
