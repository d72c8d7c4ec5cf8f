"""Pieces every mlkit Lambda shares: AWS clients, error mapping, registry parsing."""
