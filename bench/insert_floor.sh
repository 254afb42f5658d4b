#!/usr/bin/env bash
# The databases' floor for the rows of a 200-tenant sync (issue 3; see "How
# far the goal is" in bench/RESULTS.md): 170,000 tenant links into a copy of
# the archive's `post_tenants` with its indexes, and (PostgreSQL) 26,829
# tenant details of about 900 bytes, each in one INSERT … SELECT in the
# database's own shell, nothing else running (PostgreSQL: in ordinary, logged
# tables, dropped after). Needs `sqlite3` and `psql`.
#
# Usage: bash bench/insert_floor.sh [postgres://postgres@127.0.0.1:5432/test]
set -euo pipefail
PG=${1:-${CHANGEDESK_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}}
db=$(mktemp -d)/floor.db
trap 'rm -rf "$(dirname "$db")"' EXIT

echo "SQLite: 170,000 links"
sqlite3 "$db" <<'SQL'
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -32768;
CREATE TABLE post_tenants (tenant_id BIGINT NOT NULL, post_id TEXT NOT NULL, details_digest TEXT NOT NULL,
    seen_last_modified TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, visible BOOLEAN NOT NULL,
    gone_at TEXT, PRIMARY KEY (tenant_id, post_id)) WITHOUT ROWID;
CREATE INDEX post_tenants_tenant_post ON post_tenants (tenant_id, visible, post_id);
CREATE INDEX post_tenants_post_visible ON post_tenants (post_id, visible, tenant_id);
.timer on
WITH RECURSIVE t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t WHERE x < 200),
               p(y) AS (SELECT 1 UNION ALL SELECT y + 1 FROM p WHERE y < 850)
INSERT INTO post_tenants SELECT x, 'MC' || (1000000 + y), printf('%032x%032x', x * 1000003 + y, y * 7919),
    '2026-11-22T08:42:11.123456Z', '2026-11-22T08:42:11.123456Z', '2026-11-22T08:42:11.123456Z', 1, NULL
    FROM t, p ORDER BY x, y;
SQL

echo "PostgreSQL: 170,000 links, then 26,829 details"
psql "$PG" -q <<'SQL'
DROP TABLE IF EXISTS floor_post_tenants, floor_tenant_details;
CREATE TABLE floor_post_tenants (tenant_id BIGINT NOT NULL, post_id TEXT NOT NULL, details_digest TEXT NOT NULL,
    seen_last_modified TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, visible BOOLEAN NOT NULL,
    gone_at TEXT, PRIMARY KEY (tenant_id, post_id));
CREATE INDEX ON floor_post_tenants (tenant_id, visible, post_id);
CREATE INDEX ON floor_post_tenants (post_id, visible, tenant_id);
CREATE TABLE floor_tenant_details (digest TEXT PRIMARY KEY, details TEXT NOT NULL);
\timing on
INSERT INTO floor_post_tenants SELECT t, 'MC' || (1000000 + p), md5(t::text || p::text) || md5(p::text),
    '2026-11-22T08:42:11.123456Z', '2026-11-22T08:42:11.123456Z', '2026-11-22T08:42:11.123456Z', TRUE, NULL
    FROM generate_series(1, 200) t, generate_series(1, 850) p;
INSERT INTO floor_tenant_details SELECT md5(i::text) || md5((i * 7)::text), repeat(md5(i::text), 28)
    FROM generate_series(1, 26829) i;
\timing off
DROP TABLE floor_post_tenants, floor_tenant_details;
SQL
