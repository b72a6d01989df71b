#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Start a real OpenStack compute control plane on 127.0.0.1, from Debian
# 12's own Zed packages, as the end-to-end target of vmheal's OpenStack
# driver: MariaDB, RabbitMQ, Keystone and Placement (uwsgi), Glance (file
# store), a Neutron stub, nova-api/conductor/scheduler and one
# nova-compute per name in RN_COMPUTES with the fake virt driver (no
# libvirt, no qemu). Nothing runs under systemd: every daemon is a child
# of this script's session with a pid file in $RN_DIR/run, and down.sh
# stops exactly those.
#
# Installs the packages first when they are missing (install.sh). The
# state dir is rebuilt from scratch on every run unless RN_KEEP=1 and it
# was initialised before. Writes the client credentials to $RN_DIR/openrc.
# Timings of each phase go to stderr.
set -euo pipefail
. "$(dirname "$0")/env.sh"

rn_need_root
T_ALL=$(rn_now)
mkdir -p "$RN_DIR/log"
"$RN_HERE/install.sh"

for f in "$RN_DIR"/run/*.pid; do
	[ -f "$f" ] || continue
	rn_is_ours "$(cat "$f")" &&
		rn_die "$(basename "$f" .pid) of an earlier up.sh still runs: run down.sh first"
done
for p in $RN_PORTS; do
	rn_port_busy "$p" && rn_die "port $p is in use; stop its owner or set RN_PORT_BASE"
done

FRESH=1
[ "${RN_KEEP:-0}" = 1 ] && [ -f "$RN_DIR/state/.ready" ] && FRESH=0
if [ "$FRESH" = 1 ]; then
	rm -rf "$RN_DIR/state" "$RN_DIR/etc" "$RN_DIR/run"
	find "$RN_DIR/log" -type f ! -name apt.log -delete
fi
E=$RN_DIR/etc S=$RN_DIR/state
mkdir -p "$E"/{keystone,placement,glance,nova} "$RN_DIR/run" \
	"$S"/{mysql,rabbit,fernet,credential,images,glance-staging,glance-tasks,nova/instances,nova/locks}
chmod 700 "$S/fernet" "$S/credential"

# ------------------------------------------------------------- configuration
write_configs() {
	cat >"$E/my.cnf" <<-EOF
		[mysqld]
		user = root
		datadir = $S/mysql
		socket = $RN_DIR/run/mysql.sock
		pid-file = $RN_DIR/run/mysql.own-pid
		bind-address = 127.0.0.1
		port = $RN_MYSQL_PORT
		log-error = $RN_DIR/log/mysqld.err
		skip-name-resolve
		max_connections = 400
		innodb_buffer_pool_size = 64M
		innodb_flush_log_at_trx_commit = 2
		performance_schema = OFF
		character-set-server = utf8mb4
		collation-server = utf8mb4_general_ci
		[client]
		socket = $RN_DIR/run/mysql.sock
	EOF

	cat >"$E/rabbitmq.conf" <<-EOF
		listeners.tcp.default = 127.0.0.1:$RN_AMQP_PORT
		loopback_users.guest = true
		vm_memory_high_watermark.absolute = 512MB
		disk_free_limit.absolute = 50MB
	EOF
	echo "[]." >"$E/rabbit_plugins"
	: >"$E/rabbitmq-env.conf"

	# Keystone: fernet tokens; an in-process cache makes token validation
	# by the other services take milliseconds instead of most of a second.
	cat >"$E/keystone/keystone.conf" <<-EOF
		[DEFAULT]
		log_file = $RN_DIR/log/keystone.log
		[database]
		connection = $RN_DB/keystone
		[token]
		provider = fernet
		[fernet_tokens]
		key_repository = $S/fernet
		[fernet_receipts]
		key_repository = $S/fernet
		[credential]
		key_repository = $S/credential
		[cache]
		enabled = true
		backend = dogpile.cache.memory
	EOF
	uwsgi_ini keystone "$RN_KEYSTONE_PORT" /usr/bin/keystone-wsgi-public 2 \
		"OS_KEYSTONE_CONFIG_FILES=$E/keystone/keystone.conf"

	local svcauth
	svcauth=$(printf '%s\n' "auth_url = $RN_KEYSTONE_URL" "auth_type = password" \
		"user_domain_name = Default" "project_domain_name = Default" \
		"project_name = service" "region_name = RegionOne")

	cat >"$E/placement/placement.conf" <<-EOF
		[DEFAULT]
		log_file = $RN_DIR/log/placement.log
		[placement_database]
		connection = $RN_DB/placement
		[api]
		auth_strategy = keystone
		[keystone_authtoken]
		www_authenticate_uri = $RN_KEYSTONE_URL
		$svcauth
		username = placement
		password = placement-svc-pass
	EOF
	uwsgi_ini placement "$RN_PLACEMENT_PORT" /usr/bin/placement-api 1 \
		"OS_PLACEMENT_CONFIG_DIR=$E/placement"

	# Only glance-common (not installed) ships the paste pipeline; this is
	# its keystone flavour reduced to what the image API needs.
	cat >"$E/glance/glance-api-paste.ini" <<-EOF
		[pipeline:glance-api-keystone]
		pipeline = versionnegotiation authtoken context rootapp
		[composite:rootapp]
		paste.composite_factory = glance.api:root_app_factory
		/: apiversions
		/v2: apiv2app
		[app:apiversions]
		paste.app_factory = glance.api.versions:create_resource
		[app:apiv2app]
		paste.app_factory = glance.api.v2.router:API.factory
		[filter:versionnegotiation]
		paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory
		[filter:context]
		paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory
		[filter:authtoken]
		paste.filter_factory = keystonemiddleware.auth_token:filter_factory
		delay_auth_decision = true
	EOF
	cat >"$E/glance/glance-api.conf" <<-EOF
		[DEFAULT]
		bind_host = 127.0.0.1
		bind_port = $RN_GLANCE_PORT
		workers = 0
		log_file = $RN_DIR/log/glance.log
		enabled_backends = local:file
		[glance_store]
		default_backend = local
		[local]
		filesystem_store_datadir = $S/images
		[os_glance_staging_store]
		filesystem_store_datadir = $S/glance-staging
		[os_glance_tasks_store]
		filesystem_store_datadir = $S/glance-tasks
		[database]
		connection = $RN_DB/glance
		[paste_deploy]
		flavor = keystone
		config_file = $E/glance/glance-api-paste.ini
		[keystone_authtoken]
		www_authenticate_uri = $RN_KEYSTONE_URL
		$svcauth
		username = glance
		password = glance-svc-pass
		[oslo_policy]
		enforce_new_defaults = false
		enforce_scope = false
	EOF

	# Only nova-api (not installed) ships api-paste.ini: the keystone
	# pipeline of the compute API, reduced.
	cat >"$E/nova/api-paste.ini" <<-EOF
		[composite:osapi_compute]
		use = call:nova.api.openstack.urlmap:urlmap_factory
		/: versions
		/v2.1: version_v21
		/v2.1/+: api_v21
		[composite:api_v21]
		use = call:nova.api.auth:pipeline_factory_v21
		keystone = compute_req_id faultwrap request_log sizelimit authtoken keystonecontext app_v21
		[pipeline:versions]
		pipeline = faultwrap request_log versions_app
		[pipeline:version_v21]
		pipeline = compute_req_id faultwrap request_log version_v21_app
		[app:versions_app]
		paste.app_factory = nova.api.openstack.compute.versions:Versions.factory
		[app:version_v21_app]
		paste.app_factory = nova.api.openstack.compute.versions:VersionsV2.factory
		[app:app_v21]
		paste.app_factory = nova.api.openstack.compute:APIRouterV21.factory
		[filter:compute_req_id]
		paste.filter_factory = nova.api.compute_req_id:ComputeReqIdMiddleware.factory
		[filter:faultwrap]
		paste.filter_factory = nova.api.openstack:FaultWrapper.factory
		[filter:request_log]
		paste.filter_factory = nova.api.openstack.requestlog:RequestLog.factory
		[filter:sizelimit]
		paste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory
		[filter:authtoken]
		paste.filter_factory = keystonemiddleware.auth_token:filter_factory
		[filter:keystonecontext]
		paste.filter_factory = nova.api.auth:NovaKeystoneContext.factory
	EOF
	# Shared by every nova process. The fake driver's guests live in the
	# compute's memory: power-state sync would stop every server after a
	# compute restart, and nw-info healing would need a real Neutron.
	cat >"$E/nova/nova.conf" <<-EOF
		[DEFAULT]
		transport_url = rabbit://guest:guest@127.0.0.1:$RN_AMQP_PORT/
		my_ip = 127.0.0.1
		state_path = $S/nova
		instances_path = $S/nova/instances
		compute_driver = fake.FakeDriver
		enabled_apis = osapi_compute
		osapi_compute_listen = 127.0.0.1
		osapi_compute_listen_port = $RN_NOVA_PORT
		osapi_compute_workers = 1
		report_interval = 10
		service_down_time = $RN_DOWN_TIME
		sync_power_state_interval = -1
		heal_instance_info_cache_interval = -1
		[api]
		auth_strategy = keystone
		[wsgi]
		api_paste_config = $E/nova/api-paste.ini
		[keystone_authtoken]
		www_authenticate_uri = $RN_KEYSTONE_URL
		$svcauth
		username = nova
		password = nova-svc-pass
		[placement]
		$svcauth
		username = nova
		password = nova-svc-pass
		[neutron]
		$svcauth
		username = nova
		password = nova-svc-pass
		endpoint_override = $RN_NEUTRON_URL
		[glance]
		endpoint_override = $RN_GLANCE_URL
		[conductor]
		workers = 1
		[scheduler]
		workers = 1
		discover_hosts_in_cells_interval = 10
		[quota]
		instances = -1
		cores = -1
		ram = -1
		[oslo_concurrency]
		lock_path = $S/nova/locks
		[oslo_messaging_notifications]
		driver = noop
		[oslo_policy]
		enforce_new_defaults = false
		enforce_scope = false
		[vnc]
		enabled = false
	EOF
	# nova-compute refuses to start with database settings, so they live
	# in a file only the control-plane processes read.
	printf '[api_database]\nconnection = %s/nova_api\n[database]\nconnection = %s/nova\n' \
		"$RN_DB" "$RN_DB" >"$E/nova/db.conf"
	local s
	for s in api conductor scheduler; do
		printf '[DEFAULT]\nhost = ctl\nlog_file = %s/log/nova-%s.log\n' \
			"$RN_DIR" "$s" >"$E/nova/$s.conf"
	done
}

# uwsgi_ini NAME PORT WSGI_FILE PROCESSES ENV
uwsgi_ini() {
	cat >"$E/$1/uwsgi.ini" <<-EOF
		[uwsgi]
		plugins = python3
		http-socket = 127.0.0.1:$2
		wsgi-file = $3
		env = $5
		env = VMH_REALNOVA=$RN_DIR
		master = true
		processes = $4
		threads = 2
		lazy-apps = true
		enable-threads = true
		need-app = true
		die-on-term = true
		no-orphans = true
		buffer-size = 65535
		add-header = Connection: close
		logto = $RN_DIR/log/$1-uwsgi.log
	EOF
	# "Connection: close": keystoneauth otherwise sometimes reuses a
	# socket uwsgi already closed and a starting nova-compute dies of it.
}

write_configs

# ------------------------------------------------------------- databases
T=$(rn_now)
if [ "$FRESH" = 1 ]; then
	mariadb-install-db --defaults-file="$E/my.cnf" --skip-test-db \
		--auth-root-authentication-method=normal >"$RN_DIR/log/mysql-init.log" 2>&1 ||
		rn_die "mariadb-install-db failed: $RN_DIR/log/mysql-init.log"
fi
rn_spawn mysqld mariadbd --defaults-file="$E/my.cnf"

rabbit_env() {
	export HOME=$S/rabbit RABBITMQ_NODENAME=rabbit@localhost
	export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$RN_AMQP_PORT
	export RABBITMQ_DIST_PORT=$RN_ERLDIST_PORT ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$RN_EPMD_PORT
	export RABBITMQ_MNESIA_BASE=$S/rabbit/mnesia RABBITMQ_LOG_BASE=$RN_DIR/log/rabbit
	export RABBITMQ_CONFIG_FILE=$E/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$E/rabbit_plugins
	export RABBITMQ_CONF_ENV_FILE=$E/rabbitmq-env.conf RABBITMQ_PID_FILE=$RN_DIR/run/rabbit.own-pid
	export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}
(
	rabbit_env
	rn_spawn epmd epmd -address 127.0.0.1 -port "$RN_EPMD_PORT"
	rn_spawn rabbit /usr/lib/rabbitmq/bin/rabbitmq-server
)

sql() { mariadb --defaults-file="$E/my.cnf" -uroot "$@"; }
for _ in $(seq 1 160); do sql -e 'select 1' >/dev/null 2>&1 && break; sleep 0.25; done
sql -e 'select 1' >/dev/null 2>&1 || rn_die "mariadb did not start: $RN_DIR/log/mysqld.err"
rn_log "mariadb up: $(rn_since "$T")s"
if [ "$FRESH" = 1 ]; then
	sql <<-EOF
		CREATE USER 'rn'@'127.0.0.1' IDENTIFIED BY 'rn-db-pass';
		GRANT ALL PRIVILEGES ON *.* TO 'rn'@'127.0.0.1';
		CREATE DATABASE keystone; CREATE DATABASE placement; CREATE DATABASE glance;
		CREATE DATABASE nova_api; CREATE DATABASE nova; CREATE DATABASE nova_cell0;
		FLUSH PRIVILEGES;
	EOF
fi

NOVA_CONFS=(--config-file "$E/nova/nova.conf" --config-file "$E/nova/db.conf")
nova_manage() {
	rn_nova_entry manage "${NOVA_CONFS[@]}" --log-file "$RN_DIR/log/nova-manage.log" "$@"
}

# Schemas in parallel: Keystone's first (the others only need it later).
PIDS=()
if [ "$FRESH" = 1 ]; then
	T=$(rn_now)
	placement-manage --config-file "$E/placement/placement.conf" db sync \
		>"$RN_DIR/log/placement-sync.log" 2>&1 &
	PIDS+=($!)
	"$RN_PY" -c 'import sys; from glance.cmd.manage import main; sys.exit(main())' \
		--config-file "$E/glance/glance-api.conf" db_sync >"$RN_DIR/log/glance-sync.log" 2>&1 &
	PIDS+=($!)
	{ nova_manage api_db sync &&
		nova_manage cell_v2 map_cell0 --database_connection "$RN_DB/nova_cell0" &&
		nova_manage cell_v2 create_cell --name cell1 &&
		nova_manage db sync; } >"$RN_DIR/log/nova-sync.log" 2>&1 &
	PIDS+=($!)
	KM=(keystone-manage --config-file "$E/keystone/keystone.conf")
	{ "${KM[@]}" db_sync &&
		"${KM[@]}" fernet_setup --keystone-user root --keystone-group root &&
		"${KM[@]}" credential_setup --keystone-user root --keystone-group root &&
		"${KM[@]}" bootstrap --bootstrap-password "$RN_ADMIN_PASS" \
			--bootstrap-region-id RegionOne \
			--bootstrap-admin-url "$RN_KEYSTONE_URL/" \
			--bootstrap-internal-url "$RN_KEYSTONE_URL/" \
			--bootstrap-public-url "$RN_KEYSTONE_URL/"; } \
		>"$RN_DIR/log/keystone-sync.log" 2>&1 ||
		rn_die "keystone schema/bootstrap failed: $RN_DIR/log/keystone-sync.log"
	rn_log "keystone schema + bootstrap: $(rn_since "$T")s"
fi

# ------------------------------------------------------------- keystone
T=$(rn_now)
rn_spawn keystone uwsgi --ini "$E/keystone/uwsgi.ini"
rn_wait_url "$RN_KEYSTONE_URL" 60 || rn_die "keystone did not answer: $RN_DIR/log/keystone*.log"
rn_log "keystone up: $(rn_since "$T")s"

cat >"$RN_DIR/openrc" <<EOF
export OS_AUTH_URL=$RN_KEYSTONE_URL
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME=admin
export OS_PASSWORD=$RN_ADMIN_PASS
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=RegionOne
export OS_INTERFACE=public
export RN_DIR=$RN_DIR
export RN_COMPUTES="$RN_COMPUTES"
EOF
chmod 600 "$RN_DIR/openrc"
set -a
. "$RN_DIR/openrc"
set +a
if [ "$FRESH" = 1 ]; then
	rn_api catalog "$RN_NOVA_URL" "$RN_PLACEMENT_URL" "$RN_GLANCE_URL" "$RN_NEUTRON_URL" ||
		rn_die "keystone catalog set-up failed"
fi

for p in "${PIDS[@]}"; do
	wait "$p" || rn_die "a schema sync failed: $RN_DIR/log/*-sync.log"
done

# ------------------------------------------------------------- the rest
T=$(rn_now)
for _ in $(seq 1 240); do
	[ -S "$RN_DIR/run/mysql.sock" ] && rn_port_busy "$RN_AMQP_PORT" && break
	sleep 0.25
done
rn_port_busy "$RN_AMQP_PORT" || rn_die "rabbitmq did not listen: $RN_DIR/log/rabbit*"
rn_spawn placement uwsgi --ini "$E/placement/uwsgi.ini"
rn_spawn glance "$RN_PY" -c 'import sys; from glance.cmd.api import main; sys.exit(main())' \
	--config-file "$E/glance/glance-api.conf"
rn_spawn neutron-stub "$RN_PY" "$RN_HERE/neutron_stub.py" "$RN_NEUTRON_PORT"
for s in conductor scheduler api; do
	rn_spawn "nova-$s" "$RN_PY" -c "import sys
from nova.cmd.$s import main
sys.exit(main())" "${NOVA_CONFS[@]}" --config-file "$E/nova/$s.conf"
done

# A compute that pings the conductor before the conductor consumes its
# queue loses the message and waits out a 10 s RPC timeout: start the
# computes once both queues exist.
queues_ready() {
	"$RN_PY" - "$RN_AMQP_PORT" <<-'EOF' >/dev/null 2>&1
		import sys, amqp
		conn = amqp.Connection("127.0.0.1:%s" % sys.argv[1], userid="guest", password="guest")
		conn.connect()
		ch = conn.channel()
		for q in ("conductor", "scheduler"):
		    ch.queue_declare(q, passive=True)
	EOF
}
for _ in $(seq 1 240); do queues_ready && break; sleep 0.25; done
queues_ready || rn_die "nova-conductor/scheduler do not consume: $RN_DIR/log/nova-*.log"
rn_log "conductor and scheduler consuming: $(rn_since "$T")s"
for c in $RN_COMPUTES; do "$RN_HERE/compute.sh" start "$c" >/dev/null; done

rn_wait_url "$RN_PLACEMENT_URL/" 90 || rn_die "placement did not answer"
rn_wait_url "$RN_GLANCE_URL/" 90 || rn_die "glance did not answer: $RN_DIR/log/glance.log"
rn_wait_url "$RN_NEUTRON_URL/" 30 || rn_die "neutron stub did not answer"
rn_wait_url "http://127.0.0.1:$RN_NOVA_PORT/" 120 || rn_die "nova-api did not answer"
rn_log "placement, glance, neutron stub, nova-api up: $(rn_since "$T")s"

if [ "$FRESH" = 1 ]; then
	head -c 1024 /dev/zero >"$S/image.raw"
	rn_api image "$RN_GLANCE_URL" "$S/image.raw" >"$S/image.id" || rn_die "image upload failed"
	rn_api flavor || rn_die "flavor create failed"
fi
T=$(rn_now)
# shellcheck disable=SC2086
rn_api wait-computes $RN_COMPUTES --timeout 180 || rn_die "computes not ready: $RN_DIR/log/nova-compute-*.log"
nova_manage cell_v2 discover_hosts >"$RN_DIR/log/discover.log" 2>&1 || rn_die "discover_hosts failed"
rn_log "computes up and mapped: $(rn_since "$T")s"
touch "$S/.ready"
echo "export RN_IMAGE_ID=$(cat "$S/image.id")" >>"$RN_DIR/openrc"
rn_log "ready in $(rn_since "$T_ALL")s; credentials: . $RN_DIR/openrc"
