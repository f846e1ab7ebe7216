# Sourced by scripts/run and scripts/test: a virtual environment with the project's dependencies,
# and a MariaDB and a Redis that answer (started, and installed from Debian's packages, when needed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

say() { printf '==> %s\n' "$*"; }

apt_install() {
  say "installing Debian packages: $*"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

ensure_venv() {
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then apt_install python3-venv python3-pip; fi
  [ -x "$PY" ] || python3 -m venv "$VENV"
  local stamp="$VENV/.installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
    # the exact versions of requirements.lock (pip-compile of pyproject.toml, test extra included), then the
    # project itself without resolving anything again
    say "installing the Python packages of requirements.lock into .venv (pip, from PyPI)"
    "$PY" -m pip install -q --upgrade pip wheel
    "$PY" -m pip install -q -r requirements.lock
    "$PY" -m pip install -q --no-deps --no-build-isolation -e .
    touch "$stamp"
  fi
}

# host and port of a URL like mysql://u:p@host:port/db or redis://host:port/0
url_host() { "$PY" -c 'import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).hostname or "127.0.0.1")' "$1"; }
url_port() { "$PY" -c 'import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).port or int(sys.argv[2]))' "$1" "$2"; }
port_open() { "$PY" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)' "$1" "$2" 2>/dev/null; }
is_local() { case "$1" in 127.0.0.1|localhost|::1) return 0;; *) return 1;; esac; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" "$2" && return 0; sleep 0.5; done
  echo "nothing answers on $1:$2" >&2; return 1
}

ensure_mariadb() {
  local url=${DATABASE_URL:-mysql://root:@127.0.0.1:3306/wangqian}
  local host port; host=$(url_host "$url"); port=$(url_port "$url" 3306)
  port_open "$host" "$port" && return 0
  is_local "$host" || { echo "MariaDB at $host:$port does not answer" >&2; return 1; }
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
  # Our own server: data directory, socket, pid file and log under var/mariadb-PORT, never the system's
  # (/var/lib/mysql, /run/mysqld); a system MariaDB that is stopped stays stopped and untouched.
  local dir="$ROOT/var/mariadb-$port" user; user=$(id -un)
  [ "$user" != root ] || user=mysql   # mariadbd refuses to run as root
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    say "creating a MariaDB data directory in $dir/data"
    [ "$user" = "$(id -un)" ] || chown "$user" "$dir"
    mariadb-install-db --user="$user" --datadir="$dir/data" --auth-root-authentication-method=socket >"$dir/install.log" 2>&1 \
      || { cat "$dir/install.log" >&2; return 1; }
  fi
  [ "$user" = "$(id -un)" ] || chown -R "$user" "$dir"
  say "starting MariaDB on 127.0.0.1:$port (data, socket and log in $dir; stop: kill \$(cat $dir/mariadb.pid))"
  /usr/sbin/mariadbd --no-defaults --user="$user" --datadir="$dir/data" --socket="$dir/mariadb.sock" \
    --pid-file="$dir/mariadb.pid" --log-error="$dir/mariadb.log" --port="$port" --bind-address=127.0.0.1 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --skip-name-resolve >/dev/null 2>&1 &
  wait_port 127.0.0.1 "$port"
  # root over TCP with an empty password, as DATABASE_URL's default says: on this server only (its own socket),
  # for development machines only
  mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
}

ensure_redis() {
  local url=${REDIS_URL:-redis://127.0.0.1:6379/0}
  local host port; host=$(url_host "$url"); port=$(url_port "$url" 6379)
  port_open "$host" "$port" && return 0
  is_local "$host" || { echo "Redis at $host:$port does not answer" >&2; return 1; }
  command -v redis-server >/dev/null || apt_install redis-server
  # our own Redis: pid file, log and working directory under var/redis-PORT, never /run/redis.pid or the repository
  local dir="$ROOT/var/redis-$port"
  mkdir -p "$dir"
  say "starting Redis on 127.0.0.1:$port (pid file and log in $dir; stop: kill \$(cat $dir/redis.pid))"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log" --save "" --appendonly no >/dev/null
  wait_port 127.0.0.1 "$port"
}

ensure_fonts() {
  # The agreement PDF (documents/fonts.py) needs TrueType CJK fonts: a Song face for the body, a Hei face
  # for headings, and Hanazono for rare characters in names (CJK Extensions A to F).
  local missing=()
  for pkg in fonts-arphic-uming fonts-wqy-zenhei fonts-hanazono; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "the agreement PDF needs CJK fonts; they are installed system-wide (/usr/share/fonts) from Debian"
  apt_install "${missing[@]}"
}

ensure_venv
ensure_fonts
ensure_mariadb
ensure_redis
