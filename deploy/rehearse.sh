#!/usr/bin/env bash
# Rehearses the production layout on this machine without systemd: the ExecStart lines of deploy/systemd
# (2 serve processes, 1 worker, with the production settings of deploy/wangqian.env.example) behind nginx with
# deploy/nginx/wangqian.conf (a self-signed certificate, high ports), then checks what the README's production
# section promises: traffic shows in /metrics, stopping the worker turns /healthz 503, a backup restores onto an
# empty database. Everything lives in a temporary directory and a throwaway database, removed at the end.
#
#   REDIS_URL=redis://127.0.0.1:6379/13 deploy/rehearse.sh      (uses only that Redis database)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
WORK=$(mktemp -d /tmp/wangqian-rehearsal.XXXXXX)
DB_BASE=${DATABASE_URL:-mysql://root:@127.0.0.1:3306/wangqian}
DB_BASE=${DB_BASE%/*}
NAME="wangqian_rehearsal_$$"
P1=${P1:-18101} P2=${P2:-18102} HTTPS=${HTTPS_PORT:-18443} HTTP=${HTTP_PORT:-18080}
PIDS=()
say() { printf '==> %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  sleep 1
  for db in "$NAME" "${NAME}_restored"; do DATABASE_URL="$DB_BASE/$db" "$PY" -c \
    'from server.config import Settings; from server.migrate import drop_database; drop_database(Settings.from_env())' \
    2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# -- the environment file, as an operator fills it in -------------------------------------------------------------
mkdir -p "$WORK/uploads" "$WORK/metrics" "$WORK/tls" "$WORK/logs"
grep -E '^[A-Z_]+=' "$ROOT/deploy/wangqian.env.example" > "$WORK/wangqian.env"
rand() { openssl rand -hex 24; }
cat >> "$WORK/wangqian.env" <<EOF
DATABASE_URL=$DB_BASE/$NAME
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
PUBLIC_BASE_URL=https://127.0.0.1:$HTTPS
COOKIE_SECRET=$(rand)
DATA_KEY=$(rand)
UPLOAD_DIR=$WORK/uploads
PROMETHEUS_MULTIPROC_DIR=$WORK/metrics
WECHAT_APP_ID=wx_rehearsal
WECHAT_APP_SECRET=$(rand)
WECHAT_TOKEN=rehearsal
WECHAT_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
WECHAT_API_BASE=https://wechat.example.invalid/
ALIYUN_ACCESS_KEY_ID=rehearsal
ALIYUN_ACCESS_KEY_SECRET=$(rand)
ALIYUN_SMS_ENDPOINT=sms.example.invalid
EMS_SYNC_URL=https://ems.example.invalid/api/sync
CREDIT_SERVICE_URL=https://credit.example.invalid/api/enterprises
WECHAT_TPL_INVITATION=tpl_1
WECHAT_TPL_AUDIT_RESULT=tpl_2
WECHAT_TPL_RECORD_EDITED=tpl_3
WECHAT_TPL_CANCEL_REQUEST=tpl_4
WECHAT_TPL_CANCEL_ANSWER=tpl_5
WECHAT_TPL_FORCED_CANCELLATION=tpl_6
EOF
set -a; source "$WORK/wangqian.env"; set +a   # later lines win, as in systemd's EnvironmentFile

exec_start() {  # the ExecStart command of a unit, pointed at this checkout instead of /opt/wangqian
  sed -n 's/^ExecStart=//p' "$ROOT/deploy/systemd/$1" | sed "s#/opt/wangqian#$ROOT#g"
}

# -- wangqian-migrate, 2 × wangqian-serve@PORT, 1 × wangqian-worker@1 --------------------------------------------
say "migrate (wangqian-migrate.service)"
cd "$ROOT"
eval "$(exec_start wangqian-migrate.service)" >/dev/null
start() {  # start NAME COMMAND...: in the background, its log in $WORK/logs
  local name=$1; shift
  "$@" >"$WORK/logs/$name.log" 2>&1 &
  PIDS+=($!)
  echo $! > "$WORK/$name.pid"
}
for port in "$P1" "$P2"; do
  say "serve on $port (wangqian-serve@$port.service)"
  PORT=$port start "serve-$port" $(exec_start wangqian-serve@.service)
done
say "worker (wangqian-worker@1.service)"
start worker $(exec_start wangqian-worker@.service)

# -- nginx with deploy/nginx/wangqian.conf -------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" -keyout "$WORK/tls/site.key" \
  -out "$WORK/tls/site.crt" 2>/dev/null
sed -e "s#127.0.0.1:8101#127.0.0.1:$P1#; s#127.0.0.1:8102#127.0.0.1:$P2#" \
    -e "s#listen 80;#listen 127.0.0.1:$HTTP;#; s#listen 443 ssl http2;#listen 127.0.0.1:$HTTPS ssl http2;#" \
    -e "s#/etc/nginx/tls/jy.example.edu.cn.crt#$WORK/tls/site.crt#; s#/etc/nginx/tls/jy.example.edu.cn.key#$WORK/tls/site.key#" \
    -e "s#/var/log/nginx/#$WORK/logs/#" "$ROOT/deploy/nginx/wangqian.conf" > "$WORK/site.conf"
cat > "$WORK/nginx.conf" <<EOF
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx.error.log;
events {}
http {
  client_body_temp_path $WORK/nginx-body; proxy_temp_path $WORK/nginx-proxy;
  fastcgi_temp_path $WORK/nginx-fcgi; uwsgi_temp_path $WORK/nginx-uwsgi; scgi_temp_path $WORK/nginx-scgi;
  include $WORK/site.conf;
}
EOF
nginx -t -p "$WORK" -c "$WORK/nginx.conf" 2>/dev/null || { nginx -t -p "$WORK" -c "$WORK/nginx.conf"; fail "nginx -t"; }
nginx -p "$WORK" -c "$WORK/nginx.conf"
SITE="https://127.0.0.1:$HTTPS"

status() { curl -ks -o /dev/null -w '%{http_code}' "$@"; }
for _ in $(seq 1 60); do [ "$(status "$SITE/healthz")" = 200 ] && break; sleep 0.5; done
[ "$(status "$SITE/healthz")" = 200 ] || { curl -ks "$SITE/healthz"; fail "/healthz through nginx is not 200"; }
say "/healthz through nginx: 200 $(curl -ks "$SITE/healthz")"

# -- traffic, then /metrics ---------------------------------------------------------------------------------------
for _ in $(seq 1 40); do status "$SITE/api/me" >/dev/null; status "$SITE/healthz" >/dev/null; done
me=$(curl -s "http://127.0.0.1:$P1/metrics" | awk '/^wangqian_http_requests_total\{.*route="\/api\/me".*status="401"/ {s+=$2} END {print s+0}')
say "/metrics (from serve@$P1, summed over both processes): GET /api/me 401 counted $me times"
[ "${me%.*}" -ge 40 ] || fail "/metrics does not show the traffic"
[ "$(status "$SITE/metrics")" = 404 ] || fail "/metrics is reachable through nginx"
say "/metrics through nginx: 404 (kept off the public site)"
[ "$(status "http://127.0.0.1:$HTTP/healthz")" = 301 ] || fail "port 80 does not redirect to https"
big=$(head -c 12000000 /dev/zero | curl -ks -o /dev/null -w '%{http_code}' -X POST --data-binary @- "$SITE/api/uploads?kind=stamped-agreement")
say "a 12 MB upload through nginx: $big (client_max_body_size 11m)"
[ "$big" = 413 ] || fail "nginx lets a 12 MB body through"

# -- the worker stops -----------------------------------------------------------------------------------------------
say "killing the worker (SIGKILL, as a crash or an OOM kill; a clean stop takes its heartbeat off at once)"
kill -KILL "$(cat "$WORK/worker.pid")"
stopped=$(date +%s)
until [ "$(status "$SITE/healthz")" = 503 ]; do
  [ $(( $(date +%s) - stopped )) -lt 90 ] || fail "/healthz still 200 90 s after the worker stopped"
  sleep 1
done
say "/healthz answered 503 $(( $(date +%s) - stopped )) s after the worker died: $(curl -ks "$SITE/healthz")"

# -- backup, restore onto an empty database -----------------------------------------------------------------------
"$PY" -m server backup "$WORK/backup"
DATABASE_URL="$DB_BASE/${NAME}_restored" UPLOAD_DIR="$WORK/restored-uploads" "$PY" -m server restore "$WORK/backup"
count() { DATABASE_URL="$DB_BASE/$1" "$PY" -c 'from server.config import Settings; from server.db import sync_connect
c = sync_connect(Settings.from_env()).cursor(); c.execute("SELECT COUNT(*) AS n FROM _yoyo_migration"); print(c.fetchone()["n"])'; }
[ "$(count "$NAME")" = "$(count "${NAME}_restored")" ] || fail "the restored database differs"
say "backup restored onto an empty database ($(count "${NAME}_restored") migrations recorded)"
say "rehearsal passed"
