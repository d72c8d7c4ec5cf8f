"""AWS's access decisions, emulated: IAM enforced on the kit's runtime calls to the emulator.

policy.py evaluates policies as AWS documents it; operations.py says what each call the kit makes
needs (actions, resource ARNs, condition keys); enforcer.py assumes the deployed roles and decides
every call made with their credentials.
"""
