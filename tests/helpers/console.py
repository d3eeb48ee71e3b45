"""Signing in to the console as a browser does, over any httpx client (in process or real)."""

import re

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """The sign-in form fetched (its CSRF cookie set), then sent with the key; the answer is the
    redirection to the role's first page (not followed)."""
    form = await client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    return await client.post(
        "/console/sign-in", data={"key": key, "csrf": csrf_of(form.text)}, follow_redirects=False
    )
