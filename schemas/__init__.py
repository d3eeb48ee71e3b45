"""Pydantic models of the wire contract (API.md): requests, responses, errors.

Shared by the service (app/) and its clients; they import nothing of either.
"""
