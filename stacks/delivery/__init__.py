"""Delivery: the CDK pipeline stack, the GitHub OIDC stacks, and the app that holds them."""
