"""Annotated dependency aliases that routes declare."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics import Metrics
from app.session import RequestTransaction, session_of, transaction_of
from app.settings import Settings
from matching import KeyRing


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


#: The request's work session: depending on it begins the work (after the body is read).
SessionDep = Annotated[AsyncSession, Depends(session_of)]
#: For routes that begin their work themselves, after reading (uploads) or normalising (verify).
TransactionDep = Annotated[RequestTransaction, Depends(transaction_of)]
SettingsDep = Annotated[Settings, Depends(_settings)]
KeyRingDep = Annotated[KeyRing, Depends(_keyring)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
