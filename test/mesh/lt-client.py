#!/usr/bin/python3
"""A stock BitTorrent client for the mesh tests: python3-libtorrent from Debian, UPnP and
NAT-PMP off, uTP off (meshseed speaks TCP), LSD and DHT on only when asked. With --dht its
bootstrap list is empty (no public router is ever tried): it meets DHT nodes only as the
mesh introduces them (a node that pings it, a peer's `port` message).

Prints one JSON object per line on stdout, with "t" the seconds since start:
  {"event": "started"}
  {"event": "tracker_reply", "url": ..., "peers": N}
  {"event": "tracker_error", "url": ..., "message": ...}
  {"event": "lsd_peer", "ip": ..., "port": N}
  {"event": "dht_peers", "peers": N}             a DHT lookup of the torrent answered
  {"event": "peer", "ip": ..., "port": N}         first connection to each peer
  {"event": "disconnected", "ip": ..., "port": N, "message": ...}   a peer connection ended
  {"event": "state", "state": ...}                the torrent's state changed (checking, downloading…)
  {"event": "error", "message": ...}              a torrent or file error (the torrent stops)
  {"event": "finished"}
  {"event": "timeout"}
Exits 0 when finished (or, with --seed-for S, after seeding S more seconds), 1 on timeout.
"""
import argparse
import json
import sys
import time

import libtorrent as lt

p = argparse.ArgumentParser()
p.add_argument("--torrent", required=True)
p.add_argument("--save", required=True)
p.add_argument("--listen", required=True, help="IP:PORT to listen on and connect from")
p.add_argument("--lsd", action="store_true", help="Local Service Discovery (BEP 14) on")
p.add_argument("--dht", action="store_true", help="DHT (BEP 5) on, with no bootstrap node")
p.add_argument("--dht-announce-interval", type=int, default=0, help="seconds between the torrent's DHT lookups (libtorrent's default otherwise)")
p.add_argument("--timeout", type=float, default=90)
p.add_argument("--seed-for", type=float, default=0, help="seconds to stay after finishing")
p.add_argument("--no-trackers", action="store_true", help="drop every tracker of the torrent")
args = p.parse_args()

start = time.monotonic()


def say(event, **kw):
    kw["event"] = event
    kw["t"] = round(time.monotonic() - start, 3)
    print(json.dumps(kw), flush=True)


ip, port = args.listen.rsplit(":", 1)
session = lt.session(
    {
        "listen_interfaces": f"{ip}:{port}",
        "outgoing_interfaces": ip,
        "enable_dht": args.dht,
        "dht_bootstrap_nodes": "",
        "enable_lsd": args.lsd,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.all_categories,
        "tracker_receive_timeout": 10,
        **({"dht_announce_interval": args.dht_announce_interval} if args.dht_announce_interval else {}),
    }
)
info = lt.torrent_info(args.torrent)
params = lt.add_torrent_params()
params.ti = info
params.save_path = args.save
if args.no_trackers:
    params.trackers = []
handle = session.add_torrent(params)
if args.no_trackers:
    handle.replace_trackers([])
say("started")

seen = set()
finished_at = None
while True:
    now = time.monotonic() - start
    if finished_at is None and now > args.timeout:
        say("timeout")
        sys.exit(1)
    if finished_at is not None and now - finished_at >= args.seed_for:
        sys.exit(0)
    session.wait_for_alert(200)
    for a in session.pop_alerts():
        if isinstance(a, lt.tracker_reply_alert):
            say("tracker_reply", url=a.url, peers=a.num_peers)
        elif isinstance(a, lt.tracker_error_alert):
            say("tracker_error", url=a.url, message=a.message())
        elif isinstance(a, lt.dht_reply_alert):
            say("dht_peers", peers=a.num_peers)
        elif a.what() == "lsd_peer":
            # Debian's binding has no lsd_peer_alert class; the message names the peer
            say("lsd_peer", message=a.message())
        elif isinstance(a, lt.peer_connect_alert) or isinstance(a, lt.incoming_connection_alert):
            ep = a.endpoint if hasattr(a, "endpoint") else a.ip
            key = (str(ep[0]), ep[1])
            if key not in seen:
                seen.add(key)
                say("peer", ip=key[0], port=key[1])
        elif isinstance(a, lt.state_changed_alert):
            say("state", state=str(a.state))
        elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
            say("error", message=a.message())
        elif isinstance(a, lt.peer_disconnected_alert):
            ep = a.endpoint if hasattr(a, "endpoint") else a.ip
            say("disconnected", ip=str(ep[0]), port=ep[1], message=a.message())
        elif isinstance(a, lt.torrent_finished_alert) and finished_at is None:
            finished_at = time.monotonic() - start
            say("finished")
