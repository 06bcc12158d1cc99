#!/bin/sh
# Run by the postgres image's entrypoint when it creates the database (examples/docker-compose.yml).
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader_password="$METABASE_READER_PASSWORD" -f /flowmart/metabase_reader.sql
