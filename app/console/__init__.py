"""The console: server-rendered pages under /console for holders, buyers, finance and admins,
signed in with an API key exchanged for a session (sign_in.py; web.py holds the plumbing)."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.console import admin
from app.console import buyer
from app.console import finance
from app.console import holder
from app.console import sign_in
from app.console.web import CONSOLE

ROUTERS = (sign_in.router, holder.router, buyer.router, finance.router, admin.router)


def install(app: FastAPI) -> None:
    """The pages, and their style sheet."""
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
    static = StaticFiles(directory=Path(__file__).parent / "static")
    app.mount(f"{CONSOLE}/static", static, name="console_static")
