# meshseed's firewall rules, sourced after /lib/functions.sh by the uci-defaults script
# (install, first boot), the package's prerm (removal) and the init script (every start and
# reload, and '/etc/init.d/meshseed firewall').
# Named sections (firewall.meshseed_*) make a rerun replace the rules, never add copies.

MESHSEED_FW_RULES="meshseed_tracker meshseed_peer meshseed_dht meshseed_lpd"

# BEP 14: LPD announces go to 239.192.152.143:6771 and [ff15::efc0:988f]:6771.
MESHSEED_LPD_PORT=6771

# Writes one named rule unless it is already as wanted; sets changed=1 when it wrote.
meshseed_fw_rule() {
	local name="$1" title="$2" proto="$3" port="$4" enabled="$5"

	[ "$(uci -q get "firewall.$name")" = rule ] &&
		[ "$(uci -q get "firewall.$name.name")" = "$title" ] &&
		[ "$(uci -q get "firewall.$name.src")" = "$zone" ] &&
		[ "$(uci -q get "firewall.$name.proto")" = "$proto" ] &&
		[ "$(uci -q get "firewall.$name.dest_port")" = "$port" ] &&
		[ "$(uci -q get "firewall.$name.target")" = ACCEPT ] &&
		[ "$(uci -q get "firewall.$name.enabled")" = "$enabled" ] &&
		return 0
	uci -q delete "firewall.$name"
	uci set "firewall.$name=rule"
	uci set "firewall.$name.name=$title"
	uci set "firewall.$name.src=$zone"
	uci set "firewall.$name.proto=$proto"
	uci set "firewall.$name.dest_port=$port"
	uci set "firewall.$name.target=ACCEPT"
	uci set "firewall.$name.enabled=$enabled"
	changed=1
}

# The firewall package is optional (an x86 box may have none).
meshseed_fw_present() {
	uci -q show firewall >/dev/null 2>&1
}

# Reload only a running firewall: at first boot the firewall starts later with the rules.
meshseed_fw_apply() {
	uci commit firewall || return 1
	[ -s /var/run/fw4.state ] && /etc/init.d/firewall reload >/dev/null 2>&1
	return 0
}

meshseed_firewall_add() {
	local zone tracker tracker_port seeder peer_port peer_last peers lpd dht dht_port changed=0

	meshseed_fw_present || {
		logger -s -t meshseed -p daemon.notice "no /etc/config/firewall: open the tracker, peer, DHT and LPD ports yourself"
		return 0
	}
	config_load meshseed
	config_get zone main firewall_zone lan
	config_get_bool tracker tracker enabled 1
	config_get tracker_port tracker port 6969
	config_get_bool seeder seeder enabled 1
	config_get peer_port seeder listen_port 6881
	config_get_bool lpd lpd enabled 1
	config_get_bool dht dht enabled 1
	config_get dht_port dht port 0
	# The seeder takes the next free of the 8 ports after its own when that is busy
	# (FALLBACK_PORT_COUNT in src/seeder/peer-listener.ts).
	peer_last=$((peer_port + 8))
	[ "$peer_last" -le 65535 ] || peer_last=65535
	peers="$peer_port-$peer_last"
	[ "$peer_last" = "$peer_port" ] && peers="$peer_port"
	# The DHT (UDP) listens on dht.port, or on the port the seeder took (0).
	[ "$dht_port" = 0 ] && dht_port="$peers"

	meshseed_fw_rule meshseed_tracker "Allow-meshseed-tracker" "tcp udp" "$tracker_port" "$tracker"
	meshseed_fw_rule meshseed_peer "Allow-meshseed-peer" tcp "$peers" "$seeder"
	meshseed_fw_rule meshseed_dht "Allow-meshseed-DHT" udp "$dht_port" "$dht"
	meshseed_fw_rule meshseed_lpd "Allow-meshseed-LPD" udp "$MESHSEED_LPD_PORT" "$lpd"
	[ "$changed" = 1 ] || return 0
	meshseed_fw_apply
}

meshseed_firewall_remove() {
	local rule changed=0

	meshseed_fw_present || return 0
	for rule in $MESHSEED_FW_RULES; do
		uci -q get "firewall.$rule" >/dev/null 2>&1 || continue
		uci -q delete "firewall.$rule"
		changed=1
	done
	[ "$changed" = 1 ] || return 0
	meshseed_fw_apply
}
