#!/usr/bin/env bash
# The servers the tests talk to. This project's machines start them before every session and
# CI run; on a fresh machine, install Debian's packages and start them here.
set -euo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port=$1 name=$2
  for _ in $(seq 1 60); do answers "$port" && return 0; sleep 1; done
  echo "services: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

need_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "services: $1 is not answering on 127.0.0.1 and installing it needs root; start it, or run make test as root" >&2
    exit 1
  fi
}

apt_install() {
  if [[ ! -f /tmp/.smsgate-apt-updated ]]; then apt-get update -qq && touch /tmp/.smsgate-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! answers 5432; then
  need_root PostgreSQL
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -1)
  [[ -d /etc/postgresql/$version/main ]] || pg_createcluster "$version" main >/dev/null
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for 5432 PostgreSQL
  # A password for TCP logins (this project's machines use trust auth, where it is ignored).
  su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
fi
echo "services: PostgreSQL answers on 127.0.0.1:5432"

if ! answers 5672; then
  need_root RabbitMQ
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  # Started detached, as this project's machines do; guest/guest may log in from loopback.
  rabbitmq-server -detached >/dev/null 2>&1 || service rabbitmq-server start >/dev/null 2>&1 || true
  wait_for 5672 RabbitMQ
fi
echo "services: RabbitMQ answers on 127.0.0.1:5672"
