#!/usr/bin/env bash
# Fresh scratch databases in the project's cluster, for building the schema twice (migrations,
# schema files) and comparing. Usage: scratch-db.sh NAME...   prints nothing; the URL of NAME is
# ${DB_URL%/*}/NAME.
#
# pg_cron installs only in cron.database_name ('postgres') or in a database named
# contrib_regression (its install script's own exception). So a template is built once per call
# under that name, with the local Supabase bootstrap and pg_cron, renamed, and copied: in the
# copies `create extension if not exists pg_cron` is a no-op and cron.schedule writes rows that the
# scheduler never reads (it reads the 'postgres' database only).
set -euo pipefail
source "$(dirname "$0")/../env.sh"
# The platform bootstrap runs as the cluster superuser (ADMIN_DB_URL, supabase_admin), as
# db-reset.sh does; the databases belong to postgres, as on Supabase.
ADMIN_BASE="${ADMIN_DB_URL%/*}"
TEMPLATE=crm_schema_template
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
admin() { psql "$ADMIN_BASE/template1" -X -q -v ON_ERROR_STOP=1 "$@"; }

admin -c "drop database if exists contrib_regression with (force)" \
      -c "update pg_database set datistemplate = false where datname = '$TEMPLATE'" \
      -c "drop database if exists $TEMPLATE with (force)" \
      -c "create database contrib_regression owner postgres"
psql "$ADMIN_BASE/contrib_regression" -X -q -v ON_ERROR_STOP=1 -o /dev/null \
  -f "$ROOT/scripts/local-bootstrap.sql" -c "create extension if not exists pg_cron with schema pg_catalog"
admin -c "alter database contrib_regression rename to $TEMPLATE" -c "alter database $TEMPLATE is_template true"
for name in "$@"; do
  admin -c "drop database if exists $name with (force)" -c "create database $name template $TEMPLATE owner postgres"
done
