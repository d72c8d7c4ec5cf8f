"""cfn-lint over synthesized templates, its rules loaded once per test process.

cfnlint.api.lint builds a Runner, and with it every rule, on each call: ~0.55 s of each template's ~1 s.
The rules do not depend on the template or region (the config does), so one set serves every call, as
cfn-lint's own CLI uses one for many files.
"""

import functools
import json

from cfnlint.config import ConfigMixIn
from cfnlint.decode.decode import decode_str
from cfnlint.runner import Runner, run_template_by_data

# The one place cfn-lint findings are ignored, each with its reason.
CFN_LINT_IGNORES = {
    "W3005": "CDK adds DependsOn entries that are also implied by Ref/GetAtt; harmless and not ours to edit.",
}


@functools.cache
def _rules():
    return Runner(ConfigMixIn(regions=["us-east-1"])).rules


def lint_template(template: dict, region: str) -> list:
    """cfn-lint's findings on ``template`` in ``region``, but those CFN_LINT_IGNORES names."""
    decoded, errors = decode_str(json.dumps(template))
    if errors:
        return errors
    config = ConfigMixIn(regions=[region], ignore_checks=list(CFN_LINT_IGNORES))
    return list(run_template_by_data(decoded, config, _rules()))
