-- The role a BI tool connects with: it reads the marts and nothing else. The raw_*, staging and intermediate
-- schemas hold row-level data (pseudonymised people, survey answers before the anonymity threshold); the marts
-- hold what flowmart publishes. Run it as the role dbt builds with (psql -v reader_password=...), in the
-- warehouse database: the default privileges below cover the tables and views that role creates later, as
-- each dbt run recreates the marts' tables.
create role metabase_reader login password :'reader_password';
create schema if not exists marts;
grant usage on schema marts to metabase_reader;
grant select on all tables in schema marts to metabase_reader;
alter default privileges in schema marts grant select on tables to metabase_reader;
