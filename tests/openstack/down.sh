#!/bin/bash
# down.sh - stops what tests/openstack/up.sh started, by the PIDs it wrote
# (each daemon's process group), newest first. Leaves the databases, so the
# next up.sh starts quickly; FRESH=1 up.sh wipes them.
B=${VIGIL_OS_BASE:-/tmp/vigil-os}
PIDS=$B/run/pids
[ -d "$PIDS" ] || { echo "down.sh: nothing to stop ($PIDS absent)"; exit 0; }

stop_pid() {   # NAME: TERM the group, wait up to 10 s, then KILL it
  local n=$1 p i
  [ -f "$PIDS/$n.pid" ] || return 0
  p=$(cat "$PIDS/$n.pid")
  if kill -0 "$p" 2>/dev/null || kill -0 -- "-$p" 2>/dev/null; then
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
    # the whole group (uwsgi workers, eventlet children) must be gone
    for i in $(seq 100); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 -- "-$p" 2>/dev/null && kill -KILL -- "-$p" 2>/dev/null
  fi
  rm -f "$PIDS/$n.pid"
}

for f in "$PIDS"/nova-compute-*.pid; do
  [ -e "$f" ] && stop_pid "$(basename "$f" .pid)"
done
for n in nova-api nova-scheduler nova-conductor neutron-server glance-api placement keystone; do
  stop_pid $n
done
if [ -f "$PIDS/rabbitmq.pid" ]; then
  # rabbitmqctl stop shuts the Erlang node down cleanly; the group kill is
  # the fallback.
  ( . "$B/run/rabbitmq/env.sh"; /usr/lib/rabbitmq/bin/rabbitmqctl -q stop >/dev/null 2>&1 ) \
    || true
  stop_pid rabbitmq
fi
stop_pid epmd
echo "down.sh: stopped"
