#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer for the PostgreSQL test run, starting them when they are down.
# The run is never skipped: if a service cannot be started, this fails loudly.
set -u
pg_url="${FLOORSYNC_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}"
redis_host=127.0.0.1; redis_port=6379

pg_up() { psql "$pg_url" -qtAc 'select 1' >/dev/null 2>&1; }
redis_up() { redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "PostgreSQL is down; starting it"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! redis_up; then
  echo "Redis is down; starting it"
  if command -v redis-server >/dev/null; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi
pg_up || { echo "FAIL: PostgreSQL at $pg_url is not reachable and could not be started" >&2; exit 1; }
redis_up || { echo "FAIL: Redis at $redis_host:$redis_port is not reachable and could not be started" >&2; exit 1; }
echo "PostgreSQL and Redis are up"
