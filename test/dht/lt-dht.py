#!/usr/bin/python3
"""libtorrent's DHT (python3-libtorrent from Debian) against meshseed's, bootstrapped only
from the node given with --bootstrap: libtorrent's default bootstrap routers are replaced
before the session starts, so no public node is ever contacted (every DHT packet's address
is checked and reported).

  --get-peers HEX [--expect IP:PORT]  look up until the expected peer (or any) is found
  --announce HEX                      add the torrent (a magnet of that info hash, so
                                      libtorrent announces itself on the DHT as any
                                      downloader does, at its listen port), then stay until
                                      --timeout or until stdin closes

Prints one JSON object per line: {"event": "started" | "bootstrapped" | "peers" |
"added" | "found" | "timeout" | "foreign_packet", ...}. Exits 0 when found (or, for
--announce, when stdin closes), 1 on timeout.
"""
import argparse
import json
import re
import select
import sys
import tempfile
import time

import libtorrent as lt

p = argparse.ArgumentParser()
p.add_argument("--listen", required=True, help="IP:PORT (TCP and the DHT's UDP)")
p.add_argument("--bootstrap", required=True, help="IP:PORT of the only bootstrap node, or 'none': the node must be met otherwise (a query from it)")
p.add_argument("--get-peers")
p.add_argument("--expect")
p.add_argument("--announce")
p.add_argument("--timeout", type=float, default=60)
p.add_argument("--allow", action="append", help="address prefix of the test's own hosts (default 127.)")
args = p.parse_args()
start = time.monotonic()


def say(event, **kw):
    kw["event"] = event
    kw["t"] = round(time.monotonic() - start, 3)
    print(json.dumps(kw), flush=True)


ip, port = args.listen.rsplit(":", 1)
bip, bport = args.bootstrap.rsplit(":", 1) if args.bootstrap != "none" else ("", "")
session = lt.session(
    {
        "listen_interfaces": f"{ip}:{port}",
        "outgoing_interfaces": ip,
        "enable_dht": True,
        "dht_bootstrap_nodes": f"{bip}:{bport}" if bip else "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # one host runs every node of the test: let them all in
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        # a torrent added before the DHT is up waits for the next interval (15 min by default)
        "dht_announce_interval": 5,
        "alert_mask": lt.alert.category_t.all_categories,
    }
)
if bip:
    session.add_dht_node((bip, int(bport)))
say("started")

target = lt.sha1_hash(bytes.fromhex(args.get_peers or args.announce))
next_action = 0.0
bootstrapped = False
foreign = set()
while True:
    now = time.monotonic() - start
    if now > args.timeout:
        say("timeout")
        sys.exit(1)
    if args.announce and select.select([sys.stdin], [], [], 0)[0] and not sys.stdin.read(1):
        sys.exit(0)
    if now >= next_action and (args.get_peers or bootstrapped):
        if args.get_peers:
            session.dht_get_peers(target)
            next_action = now + 2
        else:
            # (Debian's binding cannot call session.dht_announce: its flags type is not exposed)
            params = lt.parse_magnet_uri(f"magnet:?xt=urn:btih:{args.announce}")
            save_dir = tempfile.TemporaryDirectory(prefix="lt-dht-")  # removed at exit
            params.save_path = save_dir.name
            session.add_torrent(params)
            say("added")
            next_action = float("inf")
    session.wait_for_alert(200)
    for a in session.pop_alerts():
        if a.what() == "dht_pkt":
            # Debian's binding has no `node` on this alert; its message names the address
            m = re.search(r"(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+\]):\d+", a.message())
            host = m.group(1) if m else a.message()
            if not any(host.startswith(x) for x in (args.allow or ["127."])) and host not in foreign:
                foreign.add(host)
                say("foreign_packet", ip=host)
        elif isinstance(a, lt.dht_reply_alert):
            say("announced", peers=a.num_peers)
        elif isinstance(a, lt.dht_bootstrap_alert) and not bootstrapped:
            bootstrapped = True
            say("bootstrapped")
        elif isinstance(a, lt.dht_get_peers_reply_alert) and a.info_hash == target:
            peers = [f"{e[0]}:{e[1]}" for e in a.peers()]
            say("peers", peers=peers)
            if peers and (not args.expect or args.expect in peers):
                say("found", peers=peers)
                sys.exit(0)
