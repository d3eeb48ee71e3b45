#!/bin/sh
# Makes deploy/secrets/ for compose.yaml, once: the master key, the PostgreSQL and Grafana
# passwords, the metrics token (the service's and Prometheus's copy are the same). Never
# overwrites: delete a file to make it again (a new master key orphans every stored signature).
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
new() { python3 -c "import secrets; print(secrets.token_hex($1))"; }
[ -e secrets/master_key ] || new 32 > secrets/master_key
[ -e secrets/postgres_password ] || new 24 > secrets/postgres_password
[ -e secrets/grafana_password ] || new 16 > secrets/grafana_password
[ -e secrets/metrics_token ] || new 32 > secrets/metrics_token
if [ ! -e secrets/idcheck.env ]; then
    printf 'IDCHECK_DATABASE_URL=postgresql://idcheck:%s@postgres:5432/idcheck\n' \
        "$(cat secrets/postgres_password)" > secrets/idcheck.env
    printf 'IDCHECK_METRICS_TOKEN=%s\n' "$(cat secrets/metrics_token)" >> secrets/idcheck.env
fi
echo "deploy/secrets/ is ready; back up secrets/master_key with the database"
