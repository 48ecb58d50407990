#!/bin/bash
# up.sh - a real OpenStack control plane for Vigil's tests, from Debian 12's
# own packages, everything on 127.0.0.1, no systemd:
#
#   RabbitMQ, Keystone (uwsgi), Placement (uwsgi), Glance, a Neutron server
#   (ML2, no agents: nova-api's server listing asks Neutron for ports), and
#   Nova: api, conductor, scheduler and three nova-compute services with
#   compute_driver = fake.FakeDriver, on the hosts fake-compute-1 (kept for
#   bench/bench-host-fault-nova.py, whose servers stay there between runs),
#   fake-compute-2 and fake-compute-3 (tests/integration/test_openstack.py
#   fails one while the other stays up).
#
# Databases are SQLite files in WAL mode. Every daemon runs in its own
# process group; its PID is in $VIGIL_OS_BASE/run/pids/NAME.pid, and down.sh
# stops them by PID. The script then seeds what the tests need and writes
# the credentials to $VIGIL_OS_BASE/openstack.env (shell) and
# $VIGIL_OS_BASE/clouds.yaml (openstackclient):
#
#   projects service, demo; users admin/adminpw (admin), demo/demopw
#   (member of demo), inspector/inspectorpw (admin of demo, vigil-inspector's
#   account); flavor vigil.tiny (1 vCPU, 64 MB, 1 GB); image vigil-tiny;
#   unlimited instance quota for demo. No server is booted: tests boot theirs.
#
# Usage: bash tests/openstack/up.sh        install if needed, configure, start
#                                          what is not running, seed; re-running
#                                          it against a running stack is quick
#        FRESH=1 bash tests/openstack/up.sh   stop, wipe, start from nothing
#        SKIP_INSTALL=1 ...                   no apt-get
#        VIGIL_OS_BASE=DIR ...                state directory (default
#                                             /tmp/vigil-os)
#
# It must run as root (apt-get, RabbitMQ). First run: about 5 minutes
# (packages 2-3 minutes, first start 2 minutes); about 1.5 GiB of RAM.
# Exit status 0 only when every API answers and both compute hosts are
# registered; otherwise it names what failed and where its log is.
set -euo pipefail

B=${VIGIL_OS_BASE:-/tmp/vigil-os}
ETC=$B/etc RUN=$B/run LOG=$B/logs
PIDS=$RUN/pids
H=127.0.0.1
ADMIN_PW=adminpw SVC_PW=servicepw RABBIT_PW=rabbitpw
DEMO_PW=demopw INSPECTOR_PW=inspectorpw
COMPUTE_HOSTS="fake-compute-1 fake-compute-2 fake-compute-3"
PY=/usr/bin/python3   # Debian's python: a python3 earlier on PATH may not see its packages
HERE=$(cd "$(dirname "$0")" && pwd)
T0=$(date +%s)

ts() { echo "[up.sh +$(( $(date +%s) - T0 ))s] $*"; }
die() { echo "up.sh: FAILED: $*" >&2; exit 1; }
# quiet CMD...: database set-up output goes to $LOG/setup.log
quiet() { "$@" >> "$LOG/setup.log" 2>&1 || die "$* failed (log: $LOG/setup.log)"; }
STARTED=0      # set when this run starts a daemon

if [ "$(id -u)" -ne 0 ]; then
  die "must run as root (it installs packages and runs RabbitMQ)"
fi
# One up.sh at a time per testbed.
mkdir -p "$B"
exec 9>"$B/up.lock"
flock -w 1800 9 || die "another up.sh still holds $B/up.lock after 30 minutes"

if [ -n "${FRESH:-}" ]; then
  bash "$HERE/down.sh" >/dev/null 2>&1 || true
  rm -rf "$RUN" "$LOG" "$ETC"
fi

# ------------------------------------------------------------ 0. packages
PKGS="python3-keystone python3-nova python3-placement python3-glance
      python3-neutron python3-openstackclient rabbitmq-server uwsgi-core
      uwsgi-plugin-python3 curl"
if [ -z "${SKIP_INSTALL:-}" ]; then
  # No service may start from a package's postinst: this script starts them.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  missing=""
  for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
      || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    ts "apt-get install$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 update -qq \
      || die "apt-get update failed"
    apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends \
      $missing > "${TMPDIR:-/tmp}/vigil-os-apt.log" 2>&1 \
      || { tail -30 "${TMPDIR:-/tmp}/vigil-os-apt.log"; die "apt-get install$missing failed"; }
    ts "packages installed"
  fi
fi
for f in /usr/bin/keystone-manage /usr/bin/keystone-wsgi-public /usr/bin/placement-api \
         /usr/bin/placement-manage /usr/bin/openstack /usr/bin/uwsgi \
         /usr/lib/rabbitmq/bin/rabbitmq-server; do
  [ -x "$f" ] || die "$f missing: the OpenStack packages are not installed"
done

mkdir -p $ETC/{keystone,glance,placement,nova,neutron} $RUN $LOG $PIDS \
         $RUN/glance/images $RUN/nova/{instances,lock,tmp} $RUN/neutron/lock \
         $RUN/rabbitmq/{mnesia,log} $RUN/keystone

wal() {   # SQLite in WAL mode: readers no longer block the writer
  $PY -c 'import sqlite3, sys
for f in sys.argv[1:]:
    sqlite3.connect(f).execute("PRAGMA journal_mode=WAL").fetchall()' "$@"
}
alive() { [ -f "$PIDS/$1.pid" ] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }
# start NAME CMD...: in the background, in its own session (process group),
# with a PID file and a log; nothing if it already runs.
start() {
  local n=$1; shift
  if alive "$n"; then return 0; fi
  # 9>&-: the daemon must not inherit (and hold forever) up.sh's lock
  setsid "$@" >>"$LOG/$n.out" 2>&1 < /dev/null 9>&- &
  echo $! > "$PIDS/$n.pid"
  STARTED=1
  ts "started $n (pid $(cat "$PIDS/$n.pid"))"
}
# port_check PORT NAME: fails when something that is not ours listens there
port_check() {
  if alive "$2"; then return 0; fi
  if $PY -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"; then return 0; fi
  die "port $1 ($2) is held by another process (another OpenStack on this machine?)"
}
wait_http() {   # URL NAME [seconds]
  local i
  for i in $(seq "${3:-120}"); do
    curl -s -o /dev/null -m 3 "$1" && return 0
    if ! alive "$2"; then
      tail -20 "$LOG/$2.out" >&2 || true
      die "$2 exited during start-up (log: $LOG/$2.out)"
    fi
    sleep 1
  done
  die "$2 does not answer on $1 (log: $LOG/$2.out)"
}

# write_credentials: $B/openstack.env and $B/clouds.yaml
write_credentials() {
cat > $B/openstack.env <<EOF
# Written by tests/openstack/up.sh: vigil-inspector's account (admin of
# project demo) and the testbed's layout. Source it: . $B/openstack.env
export OS_AUTH_URL=http://$H:5000/v3
export OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=RegionOne
export OS_INTERFACE=public
export OS_USERNAME=inspector
export OS_PASSWORD=$INSPECTOR_PW
export OS_PROJECT_NAME=demo
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export VIGIL_OS_ADMIN_USERNAME=admin
export VIGIL_OS_ADMIN_PASSWORD=$ADMIN_PW
export VIGIL_OS_ADMIN_PROJECT=admin
export VIGIL_OS_COMPUTE_HOSTS="$COMPUTE_HOSTS"
export VIGIL_OS_FLAVOR=vigil.tiny
export VIGIL_OS_IMAGE=vigil-tiny
export VIGIL_OS_BASE=$B
EOF
cat > $B/clouds.yaml <<EOF
# Written by tests/openstack/up.sh (OS_CLIENT_CONFIG_FILE=$B/clouds.yaml)
clouds:
  vigil-inspector:
    auth:
      auth_url: http://$H:5000/v3
      username: inspector
      password: $INSPECTOR_PW
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
  vigil-admin:
    auth:
      auth_url: http://$H:5000/v3
      username: admin
      password: $ADMIN_PW
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
EOF
}

# ------------------------------------------------------------ 1. configuration
authtoken() {   # [keystone_authtoken] of service user $1
cat <<EOF
[keystone_authtoken]
www_authenticate_uri = http://$H:5000
auth_url = http://$H:5000
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SVC_PW
region_name = RegionOne
EOF
}

cat > $ETC/keystone/keystone.conf <<EOF
[DEFAULT]
log_file = $LOG/keystone.log
[database]
connection = sqlite:///$RUN/keystone.sqlite
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = $RUN/keystone/fernet-keys
[fernet_receipts]
key_repository = $RUN/keystone/fernet-keys
[credential]
key_repository = $RUN/keystone/credential-keys
EOF

cat > $ETC/placement/placement.conf <<EOF
[DEFAULT]
log_file = $LOG/placement.log
[api]
auth_strategy = keystone
[placement_database]
connection = sqlite:///$RUN/placement.sqlite
$(authtoken placement)
EOF

cat > $ETC/glance/glance-api.conf <<EOF
[DEFAULT]
bind_host = $H
bind_port = 9292
workers = 1
log_file = $LOG/glance-api.log
enabled_backends = fs:file
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $RUN/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $RUN/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $RUN/glance/tasks
[database]
connection = sqlite:///$RUN/glance.sqlite
[paste_deploy]
flavor = keystone
config_file = $ETC/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $RUN/glance/lock
$(authtoken glance)
EOF
# Debian's glance-api-paste.ini, keystone pipeline only
cat > $ETC/glance/glance-api-paste.ini <<'EOF'
[pipeline:glance-api-keystone]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation osprofiler authtoken context rootapp
[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app
[app:apiversions]
paste.app_factory = glance.api.versions:create_resource
[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory
[filter:healthcheck]
paste.filter_factory = oslo_middleware:Healthcheck.factory
[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory
[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true
[filter:osprofiler]
paste.filter_factory = osprofiler.web:WsgiMiddleware.factory
[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = glance
oslo_config_program = glance-api
[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
EOF

# token_cache_time = -1 for Nova and Neutron: keystonemiddleware validates
# every token with Keystone instead of trusting its 5-minute cache, so a
# token revoked by a test is refused at once (vigil-inspector must then
# re-authenticate). It costs one Keystone round trip per API call.
cat > $ETC/nova/nova.conf <<EOF
[DEFAULT]
host = vigil-ctl
my_ip = $H
state_path = $RUN/nova
instances_path = $RUN/nova/instances
tempdir = $RUN/nova/tmp
transport_url = rabbit://openstack:$RABBIT_PW@$H:5672/
enabled_apis = osapi_compute
osapi_compute_listen = $H
osapi_compute_listen_port = 8774
osapi_compute_workers = 1
compute_driver = fake.FakeDriver
heal_instance_info_cache_interval = 0
[api]
auth_strategy = keystone
[api_database]
connection = sqlite:///$RUN/nova_api.sqlite
[database]
connection = sqlite:///$RUN/nova_cell1.sqlite
[wsgi]
api_paste_config = $ETC/nova/api-paste.ini
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 10
[oslo_concurrency]
lock_path = $RUN/nova/lock
[oslo_messaging_notifications]
driver = noop
[oslo_messaging_rabbit]
# many servers booted at once must not exhaust the RPC connection pool
rpc_conn_pool_size = 100
[vnc]
enabled = false
[glance]
api_servers = http://$H:9292
[neutron]
region_name = RegionOne
auth_type = password
auth_url = http://$H:5000/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = neutron
password = $SVC_PW
[placement]
region_name = RegionOne
auth_type = password
auth_url = http://$H:5000/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = placement
password = $SVC_PW
$(authtoken nova)
token_cache_time = -1
EOF
for host in $COMPUTE_HOSTS; do
  printf '[DEFAULT]\nhost = %s\n' "$host" > "$ETC/nova/nova-compute-$host.conf"
done
# Debian's api-paste.ini, osapi_compute only
cat > $ETC/nova/api-paste.ini <<'EOF'
[composite:osapi_compute]
use = call:nova.api.openstack.urlmap:urlmap_factory
/: oscomputeversions
/v2.1: oscomputeversion_v2
/v2.1/+: openstack_compute_api_v21
[composite:openstack_compute_api_v21]
use = call:nova.api.auth:pipeline_factory_v21
keystone = cors http_proxy_to_wsgi compute_req_id faultwrap request_log sizelimit osprofiler authtoken keystonecontext osapi_compute_app_v21
[filter:request_log]
paste.filter_factory = nova.api.openstack.requestlog:RequestLog.factory
[filter:compute_req_id]
paste.filter_factory = nova.api.compute_req_id:ComputeReqIdMiddleware.factory
[filter:faultwrap]
paste.filter_factory = nova.api.openstack:FaultWrapper.factory
[filter:osprofiler]
paste.filter_factory = nova.profiler:WsgiMiddleware.factory
[filter:sizelimit]
paste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory
[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory
[app:osapi_compute_app_v21]
paste.app_factory = nova.api.openstack.compute:APIRouterV21.factory
[pipeline:oscomputeversions]
pipeline = cors faultwrap request_log http_proxy_to_wsgi oscomputeversionapp
[pipeline:oscomputeversion_v2]
pipeline = cors compute_req_id faultwrap request_log http_proxy_to_wsgi oscomputeversionapp_v2
[app:oscomputeversionapp]
paste.app_factory = nova.api.openstack.compute.versions:Versions.factory
[app:oscomputeversionapp_v2]
paste.app_factory = nova.api.openstack.compute.versions:VersionsV2.factory
[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = nova
[filter:keystonecontext]
paste.filter_factory = nova.api.auth:NovaKeystoneContext.factory
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
EOF

# data_plane_status: the port extension vigil-inspector sets to DOWN on a
# failed host's ports ([neutron] data_plane_status).
cat > $ETC/neutron/neutron.conf <<EOF
[DEFAULT]
core_plugin = ml2
# 'router' only because it imports the port_forwarding model that
# GET /v2.0/ports needs; no L3 agent runs
service_plugins = router
bind_host = $H
bind_port = 9696
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
auth_strategy = keystone
transport_url = rabbit://openstack:$RABBIT_PW@$H:5672/
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
log_file = $LOG/neutron-server.log
api_paste_config = $ETC/neutron/api-paste.ini
[database]
connection = sqlite:///$RUN/neutron.sqlite
[oslo_concurrency]
lock_path = $RUN/neutron/lock
[ml2]
type_drivers = local,flat
tenant_network_types = local
mechanism_drivers =
extension_drivers = port_security,data_plane_status
$(authtoken neutron)
token_cache_time = -1
EOF
# Debian's neutron api-paste.ini
cat > $ETC/neutron/api-paste.ini <<'EOF'
[composite:neutron]
use = egg:Paste#urlmap
/: neutronversions_composite
/v2.0: neutronapi_v2_0
[composite:neutronapi_v2_0]
use = call:neutron.auth:pipeline_factory
keystone = cors http_proxy_to_wsgi request_id catch_errors osprofiler authtoken keystonecontext extensions neutronapiapp_v2_0
[composite:neutronversions_composite]
use = call:neutron.auth:pipeline_factory
keystone = cors http_proxy_to_wsgi neutronversions
[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory
[filter:catch_errors]
paste.filter_factory = oslo_middleware:CatchErrors.factory
[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = neutron
[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory
[filter:keystonecontext]
paste.filter_factory = neutron.auth:NeutronKeystoneContext.factory
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
[filter:extensions]
paste.filter_factory = neutron.api.extensions:plugin_aware_extension_middleware_factory
[app:neutronversions]
paste.app_factory = neutron.pecan_wsgi.app:versions_factory
[app:neutronapiapp_v2_0]
paste.app_factory = neutron.api.v2.router:APIRouter.factory
[filter:osprofiler]
paste.filter_factory = osprofiler.web:WsgiMiddleware.factory
EOF

# ------------------------------------------------------------ 2. RabbitMQ
port_check 5672 rabbitmq
port_check 5000 keystone
port_check 8774 nova-api
port_check 8778 placement
port_check 9292 glance-api
port_check 9696 neutron-server
cat > $RUN/rabbitmq/env.sh <<EOF
export HOME=$RUN/rabbitmq
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_NODE_IP_ADDRESS=$H
export RABBITMQ_NODE_PORT=5672
export ERL_EPMD_ADDRESS=$H
export RABBITMQ_DIST_PORT=25672
export RABBITMQ_MNESIA_BASE=$RUN/rabbitmq/mnesia
export RABBITMQ_LOG_BASE=$RUN/rabbitmq/log
export RABBITMQ_PID_FILE=$RUN/rabbitmq/rabbit.pid
export RABBITMQ_ENABLED_PLUGINS_FILE=$RUN/rabbitmq/enabled_plugins
export RABBITMQ_CONFIG_FILE=$RUN/rabbitmq/rabbitmq
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
echo '[].' > $RUN/rabbitmq/enabled_plugins
printf 'listeners.tcp.default = %s:5672\n' $H > $RUN/rabbitmq/rabbitmq.conf
# shellcheck disable=SC1091
. $RUN/rabbitmq/env.sh
start epmd /usr/bin/epmd -address $H      # in the foreground: we own its PID
sleep 1
start rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
RMQCTL=/usr/lib/rabbitmq/bin/rabbitmqctl
for i in $(seq 90); do
  $RMQCTL -q await_startup >/dev/null 2>&1 && break
  alive rabbitmq || die "rabbitmq exited (log: $LOG/rabbitmq.out)"
  sleep 1
done
$RMQCTL -q await_startup || die "rabbitmq does not start (log: $LOG/rabbitmq.out)"
$RMQCTL -q list_users | grep -q '^openstack' || $RMQCTL -q add_user openstack $RABBIT_PW >/dev/null
$RMQCTL -q set_permissions openstack '.*' '.*' '.*'
ts "rabbitmq up"

# ------------------------------------------------------------ 3. Keystone
KM="keystone-manage --config-file $ETC/keystone/keystone.conf"
if [ ! -f $RUN/keystone.sqlite ]; then
  quiet $KM db_sync
  quiet $KM fernet_setup --keystone-user root --keystone-group root
  quiet $KM credential_setup --keystone-user root --keystone-group root
  wal $RUN/keystone.sqlite
  quiet $KM bootstrap --bootstrap-password $ADMIN_PW \
      --bootstrap-admin-url http://$H:5000/v3/ --bootstrap-internal-url http://$H:5000/v3/ \
      --bootstrap-public-url http://$H:5000/v3/ --bootstrap-region-id RegionOne
  ts "keystone database ready"
fi
# uwsgi: processes, no threads (SQLite objects must stay in their thread),
# lazy-apps, and Connection: close (uwsgi's http-socket does not keep alive).
start keystone env OS_KEYSTONE_CONFIG_FILES=$ETC/keystone/keystone.conf \
  uwsgi --plugin python3 --http-socket $H:5000 --wsgi-file /usr/bin/keystone-wsgi-public \
        --master --processes 2 --enable-threads --lazy-apps --add-header 'Connection: close' \
        --die-on-term --buffer-size 65535 --need-app
wait_http http://$H:5000/v3 keystone
ts "keystone up"

export OS_AUTH_URL=http://$H:5000/v3 OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne \
       OS_USERNAME=admin OS_PASSWORD=$ADMIN_PW OS_PROJECT_NAME=admin \
       OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_INTERFACE=public
osc() { openstack "$@"; }

if [ ! -f $RUN/keystone-seeded ]; then
  # One openstackclient process reading every command is much faster than
  # one process per command.
  cat > $RUN/keystone-seed.osc <<EOF
project create --or-show --domain default service
project create --or-show --domain default demo
user create --or-show --domain default --password $SVC_PW nova
user create --or-show --domain default --password $SVC_PW placement
user create --or-show --domain default --password $SVC_PW glance
user create --or-show --domain default --password $SVC_PW neutron
role add --project service --user nova admin
role add --project service --user placement admin
role add --project service --user glance admin
role add --project service --user neutron admin
user create --or-show --domain default --password $DEMO_PW --project demo demo
role add --project demo --user demo member
role add --project demo --user demo reader
user create --or-show --domain default --password $INSPECTOR_PW --project demo inspector
role add --project demo --user inspector admin
service create --name nova compute
service create --name placement placement
service create --name glance image
service create --name neutron network
endpoint create --region RegionOne compute public http://$H:8774/v2.1
endpoint create --region RegionOne compute internal http://$H:8774/v2.1
endpoint create --region RegionOne compute admin http://$H:8774/v2.1
endpoint create --region RegionOne placement public http://$H:8778
endpoint create --region RegionOne placement internal http://$H:8778
endpoint create --region RegionOne placement admin http://$H:8778
endpoint create --region RegionOne image public http://$H:9292
endpoint create --region RegionOne image internal http://$H:9292
endpoint create --region RegionOne image admin http://$H:9292
endpoint create --region RegionOne network public http://$H:9696
endpoint create --region RegionOne network internal http://$H:9696
endpoint create --region RegionOne network admin http://$H:9696
EOF
  osc < $RUN/keystone-seed.osc > $LOG/keystone-seed.out 2>&1 \
    || die "seeding Keystone failed (log: $LOG/keystone-seed.out)"
  osc project show service >/dev/null 2>&1 \
    || die "seeding Keystone failed (log: $LOG/keystone-seed.out)"
  touch $RUN/keystone-seeded
  ts "keystone seeded"
fi

# ------------------------------------------------------------ 4. Placement, Glance, Neutron
if [ ! -f $RUN/placement.sqlite ]; then
  quiet placement-manage --config-file $ETC/placement/placement.conf db sync
  wal $RUN/placement.sqlite
fi
start placement env OS_PLACEMENT_CONFIG_DIR=$ETC/placement \
  uwsgi --plugin python3 --http-socket $H:8778 --wsgi-file /usr/bin/placement-api \
        --master --processes 1 --enable-threads --lazy-apps --add-header 'Connection: close' \
        --die-on-term --need-app

if [ ! -f $RUN/glance.sqlite ]; then
  # glance-manage ships in glance-common (dbconfig-common): call the module
  quiet $PY -c 'import sys; from glance.cmd.manage import main; sys.exit(main())' \
    --config-file $ETC/glance/glance-api.conf db_sync
  wal $RUN/glance.sqlite
fi
start glance-api $PY -c 'import sys; from glance.cmd.api import main; sys.exit(main())' \
  --config-file $ETC/glance/glance-api.conf

if [ ! -f $RUN/neutron.sqlite ]; then
  # Neutron's alembic migrations do not run on SQLite: create the schema
  # from the models (as Neutron's unit tests do) and stamp it at head.
  quiet $PY -c 'import sys, sqlalchemy as sa
from neutron.db.migration.models import head
from neutron_lib.db import model_base
model_base.BASEV2.metadata.create_all(sa.create_engine(sys.argv[1]))' sqlite:///$RUN/neutron.sqlite
  quiet $PY -c 'import sys; from neutron.db.migration.cli import main; sys.exit(main())' \
     --config-file $ETC/neutron/neutron.conf stamp heads
  wal $RUN/neutron.sqlite
fi
# configure_mappers() after importing every model, else the first
# GET /v2.0/ports may fail ("Port has no attribute port_forwardings")
start neutron-server $PY -c 'import sys
from neutron.cmd.eventlet.server import main
import neutron.db.migration.models.head, sqlalchemy.orm
sqlalchemy.orm.configure_mappers()
sys.exit(main())' --config-file $ETC/neutron/neutron.conf

# ------------------------------------------------------------ 5. Nova
# SQLite refuses a write at once ("database is locked") when a transaction
# that read first meets a concurrent writer (WAL snapshot): a busy timeout
# does not help. Nova retries its DB calls on deadlocks, so every Nova
# process loads this filter that reports the SQLite error as one (after
# nova.cmd, which monkey-patches for eventlet first).
cat > $ETC/nova/vigil_sqlite_retry.py <<'EOF'
# Loaded by tests/openstack/up.sh before each Nova service: SQLite's
# "database is locked" becomes oslo.db's DBDeadlock, which Nova retries.
import sqlalchemy.exc
from oslo_db import exception
from oslo_db.sqlalchemy import exc_filters


@exc_filters.filters("sqlite", sqlalchemy.exc.OperationalError,
                     r"^.*database is locked.*")
def _sqlite_locked(error, match, engine_name, is_disconnect):
    raise exception.DBDeadlock(error)
EOF
NOVA_PRE="import sys, nova.cmd; sys.path.insert(0, '$ETC/nova'); import vigil_sqlite_retry"
nm() { $PY -c 'import sys; from nova.cmd.manage import main; sys.exit(main())' \
         --config-file $ETC/nova/nova.conf "$@"; }
if [ ! -f $RUN/nova_api.sqlite ]; then
  quiet nm api_db sync
  quiet nm cell_v2 map_cell0 --database_connection sqlite:///$RUN/nova_cell0.sqlite
  quiet nm cell_v2 create_cell --name cell1
  quiet nm db sync
  wal $RUN/nova_api.sqlite $RUN/nova_cell0.sqlite $RUN/nova_cell1.sqlite
  ts "nova databases ready"
fi
NC="--config-file $ETC/nova/nova.conf"
start nova-conductor $PY -c "$NOVA_PRE; from nova.cmd.conductor import main; sys.exit(main())" \
  $NC --log-file $LOG/nova-conductor.log
start nova-scheduler $PY -c "$NOVA_PRE; from nova.cmd.scheduler import main; sys.exit(main())" \
  $NC --log-file $LOG/nova-scheduler.log
start nova-api $PY -c "$NOVA_PRE; from nova.cmd.api import main; sys.exit(main())" \
  $NC --log-file $LOG/nova-api.log
wait_http http://$H:8778/ placement
ts "placement up"
for host in $COMPUTE_HOSTS; do
  start nova-compute-$host $PY -c "$NOVA_PRE; from nova.cmd.compute import main; sys.exit(main())" \
    $NC --config-file $ETC/nova/nova-compute-$host.conf --log-file $LOG/nova-compute-$host.log
done
wait_http http://$H:9292/ glance-api
ts "glance up"
wait_http http://$H:9696/ neutron-server
ts "neutron up"
wait_http http://$H:8774/ nova-api
ts "nova-api up"
if [ "$STARTED" = 0 ] && [ -f $RUN/seeded ]; then
  # Everything was running and seeded already: nothing else to do.
  write_credentials
  ts "DONE: the running OpenStack answers; credentials in $B/openstack.env"
  exit 0
fi
rm -f $RUN/seeded     # written again once everything below succeeded

# Each nova-compute creates its compute node (and its resource provider in
# placement); then the hosts are mapped to cell1. (Not "state up": after a
# restart a service may still be forced down by an earlier test.)
for host in $COMPUTE_HOSTS; do
  # up to ~10 minutes: a compute host that restarts with hundreds of
  # servers (the benchmark's) goes through all of them first
  # (One listing decides: asking again could fail on a transient API error.)
  registered=0
  for i in $(seq 150); do
    if osc hypervisor list -f value -c "Hypervisor Hostname" 2>/dev/null | grep -qx "$host"; then
      registered=1; break
    fi
    alive nova-compute-$host || die "nova-compute-$host exited (log: $LOG/nova-compute-$host.log)"
    sleep 2
  done
  [ $registered = 1 ] \
    || die "nova-compute on $host did not register within 5 minutes (log: $LOG/nova-compute-$host.log)"
done
quiet nm cell_v2 discover_hosts
ts "compute hosts registered: $COMPUTE_HOSTS"

# ------------------------------------------------------------ 6. flavor, image, quota
osc flavor show vigil.tiny >/dev/null 2>&1 || \
  osc flavor create --vcpus 1 --ram 64 --disk 1 vigil.tiny >/dev/null
if ! osc image show vigil-tiny >/dev/null 2>&1; then
  head -c 1024 /dev/zero > $RUN/tiny.img
  osc image create --disk-format raw --container-format bare --public \
      --file $RUN/tiny.img vigil-tiny >/dev/null
fi
osc quota set --instances -1 --cores -1 --ram -1 demo >/dev/null
ts "flavor vigil.tiny, image vigil-tiny, demo quota unlimited"

# ------------------------------------------------------------ 7. credentials for the tests
write_credentials
touch $RUN/seeded
ts "DONE: OpenStack up on $H (Keystone :5000, Nova :8774); credentials in $B/openstack.env and $B/clouds.yaml"
