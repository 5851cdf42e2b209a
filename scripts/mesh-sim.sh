#!/bin/sh
# A small mesh made of network namespaces, to watch meshseed keep files flowing when the
# mesh is cut off from the internet. Addresses exist only inside the namespaces.
#
#   segment A (bridge brA in the router, 10.61.1.0/24):  a1 = meshseed node A, a2 = a client
#   segment B (bridge brB in the router, 10.61.2.0/24):  b1 = meshseed node B, b2, b3 = clients
#   segment C (bridge brC in router r2, 10.61.3.0/24):  c1 = meshseed node C, c2 = a client
#   router r joins A and B with IP forwarding: unicast crosses, multicast (LPD) does not;
#   router r2 (10.61.2.2 on segment B) joins B and C the same way, so the segments form a
#   chain A - B - C: from A to C is two routed hops.
#   "internet" 10.61.9.0/24 is a blackhole route in the router: the public tracker there
#   answers nothing, as when the mesh's uplink is down.
#
# Usage: scripts/mesh-sim.sh up|run|down|status [PREFIX]
#   up      make the namespaces (to explore by hand with `ip netns exec PREFIX-a1 …`)
#   run     run the scenarios of test/mesh/ (mesh, discovery, mesh DHT) in their own namespaces, printing
#           what happens and how long it took; removes everything afterwards
#   down    remove the namespaces and every process in them
#   PREFIX (default "ms") names the namespaces PREFIX-r, PREFIX-a1, … so several simulations
#   can exist at once; the test suite uses "mst".
set -eu
cmd=${1:-}
P=${2:-ms}

ns() { echo "$P-$1"; }
HOSTS="a1:A:10.61.1.10 a2:A:10.61.1.20 b1:B:10.61.2.10 b2:B:10.61.2.20 b3:B:10.61.2.30 c1:C:10.61.3.10 c2:C:10.61.3.20"

up() {
  ip netns add "$(ns r)"
  ip -n "$(ns r)" link set lo up
  ip netns exec "$(ns r)" sysctl -qw net.ipv4.ip_forward=1
  for seg in A B; do
    ip -n "$(ns r)" link add "br$seg" type bridge
    ip -n "$(ns r)" link set "br$seg" up
  done
  ip -n "$(ns r)" addr add 10.61.1.1/24 dev brA
  ip -n "$(ns r)" addr add 10.61.2.1/24 dev brB
  # The internet: a route that swallows every packet without an answer.
  ip -n "$(ns r)" route add blackhole 10.61.9.0/24
  # Router r2: a host of segment B (10.61.2.2) that routes segment C behind it.
  ip netns add "$(ns r2)"
  ip -n "$(ns r2)" link set lo up
  ip netns exec "$(ns r2)" sysctl -qw net.ipv4.ip_forward=1
  ip link add "$P-vr2" type veth peer name eth0 netns "$(ns r2)"
  ip link set "$P-vr2" netns "$(ns r)"
  ip -n "$(ns r)" link set "$P-vr2" master brB up
  ip -n "$(ns r2)" addr add 10.61.2.2/24 dev eth0
  ip -n "$(ns r2)" link set eth0 up
  ip -n "$(ns r2)" route add default via 10.61.2.1
  ip -n "$(ns r2)" link add brC type bridge
  ip -n "$(ns r2)" link set brC up
  ip -n "$(ns r2)" addr add 10.61.3.1/24 dev brC
  ip -n "$(ns r)" route add 10.61.3.0/24 via 10.61.2.2
  for h in $HOSTS; do
    name=${h%%:*}; rest=${h#*:}; seg=${rest%%:*}; addr=${rest#*:}
    ip netns add "$(ns "$name")"
    ip -n "$(ns "$name")" link set lo up
    # veth: "eth0" inside the host, "v-<name>" in the router on the segment's bridge
    router=$( [ "$seg" = C ] && echo r2 || echo r )
    ip link add "$P-v$name" type veth peer name eth0 netns "$(ns "$name")"
    ip link set "$P-v$name" netns "$(ns "$router")"
    ip -n "$(ns "$router")" link set "$P-v$name" master "br$seg" up
    ip -n "$(ns "$name")" addr add "$addr/24" dev eth0
    ip -n "$(ns "$name")" link set eth0 up
    case $seg in A) gw=10.61.1.1 ;; B) gw=10.61.2.1 ;; C) gw=10.61.3.1 ;; esac
    ip -n "$(ns "$name")" route add default via "$gw"
    # LPD: multicast leaves through eth0 (namespaces have no route for it otherwise)
    ip -n "$(ns "$name")" route add 239.0.0.0/8 dev eth0
  done
  echo "mesh $P up: routers $(ns r) $(ns r2); segment A: $(ns a1) $(ns a2); segment B: $(ns b1) $(ns b2) $(ns b3); segment C: $(ns c1) $(ns c2)"
}

down() {
  for n in r r2 a1 a2 b1 b2 b3 c1 c2; do
    if ip netns list | grep -q "^$(ns "$n")\b"; then
      # processes left in the namespace go with it
      for pid in $(ip netns pids "$(ns "$n")" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$(ns "$n")" || true
    fi
  done
}

case "$cmd" in
  up) down; up ;;
  down) down; echo "mesh $P down" ;;
  run)
    cd "$(dirname "$0")/.."
    npm run build --silent
    MESH_PREFIX="$P" TEST_VERBOSE=1 node scripts/run-tests.mjs test/mesh
    ;;
  status) ip netns list | grep "^$P-" || echo "mesh $P is down" ;;
  *) echo "usage: $0 up|run|down|status [PREFIX]" >&2; exit 2 ;;
esac
