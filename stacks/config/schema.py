"""Write config/mlkit.schema.json from the config model, so editors complete and check config files.

Run it with `make schema`; a test fails when the committed schema is stale.
"""

import json
import sys
from pathlib import Path

from stacks.config.environment import MlKitConfig
from stacks.config.loader import CONFIG_DIR

SCHEMA_PATH = CONFIG_DIR / "mlkit.schema.json"


def render_schema() -> str:
    schema = MlKitConfig.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlkit environment config"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(path: Path = SCHEMA_PATH) -> None:
    path.write_text(render_schema())
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
