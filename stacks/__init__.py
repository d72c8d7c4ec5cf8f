"""mlkit's CDK code: the config model, the Stage, one module per stack, reusable constructs."""
