"""Pydantic models of the wire contract (docs/api.md): requests, responses, errors.

Shared by the service (app/) and its clients; they import nothing of either.
"""
