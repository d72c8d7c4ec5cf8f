"""Write the JSON Schemas of the config files from their models, so editors complete and check them:
config/mlkit.schema.json (an environment) and config/delivery.schema.json (the delivery file).

Run it with `make schema`; a test fails when a committed schema is stale.
"""

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from stacks.config.delivery import DeliveryConfig
from stacks.config.environment import MlKitConfig
from stacks.config.loader import CONFIG_DIR

SCHEMA_PATH = CONFIG_DIR / "mlkit.schema.json"
DELIVERY_SCHEMA_PATH = CONFIG_DIR / "delivery.schema.json"
SCHEMAS = {
    SCHEMA_PATH: (MlKitConfig, "mlkit environment config"),
    DELIVERY_SCHEMA_PATH: (DeliveryConfig, "mlkit delivery config"),
}


def render_schema(model: type[BaseModel] = MlKitConfig, title: str = "mlkit environment config") -> str:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(paths: dict[Path, tuple[type[BaseModel], str]] = SCHEMAS) -> None:
    for path, (model, title) in paths.items():
        path.write_text(render_schema(model, title))
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
