# idcheck service image. Build: docker build -t idcheck .
# Run (PostgreSQL, master key as a mounted secret):
#   docker run -e IDCHECK_DATABASE_URL=postgresql://idcheck@db/idcheck \
#     -e IDCHECK_MASTER_KEY_FILE=/run/secrets/idcheck_master_key \
#     -v /secure/idcheck.key:/run/secrets/idcheck_master_key:ro -p 8000:8000 idcheck
# Migrations are a deploy step of their own: docker run ... idcheck idcheck migrate

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
# Shared by both sides, then what holders and buyers run, then the server.
COPY signatures signatures
COPY schemas schemas
COPY idcheck idcheck
COPY app app
COPY matching matching
COPY migrations migrations
RUN pip install --no-cache-dir --upgrade pip \
    && pip wheel --no-cache-dir --wheel-dir /wheels '.[server]'

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv/idcheck --create-home idcheck
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels 'idcheck[server]' && rm -rf /wheels
USER idcheck
WORKDIR /srv/idcheck
# Production refuses to start without IDCHECK_MASTER_KEY(_FILE) and IDCHECK_METRICS_TOKEN (or
# IDCHECK_METRICS_PUBLIC=true): give them at run time, never in the image.
ENV IDCHECK_ENV=production \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["idcheck", "serve", "--host", "0.0.0.0", "--port", "8000"]
