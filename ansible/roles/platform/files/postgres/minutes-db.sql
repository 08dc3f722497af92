-- The answer log's login and database on the platform's Postgres (minutes.online.answer_log).
-- Run as the superuser by the platform compose's one-shot `minutes-db` service at every start, so
-- it is idempotent (and sets the password again: a rotated MINUTES_DB_PASSWORD takes effect).
-- The password comes from the container's environment (.env), never from this file.
\set ON_ERROR_STOP on
\getenv minutes_password MINUTES_DB_PASSWORD
\if :{?minutes_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'MINUTES_DB_PASSWORD is not set: no password for the answer log''s login'; END $$;
\endif
SELECT 'CREATE ROLE minutes LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'minutes') \gexec
ALTER ROLE minutes WITH LOGIN PASSWORD :'minutes_password';
SELECT 'CREATE DATABASE minutes OWNER minutes'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'minutes') \gexec
REVOKE ALL ON DATABASE minutes FROM PUBLIC;
GRANT ALL ON DATABASE minutes TO minutes;
