#!/usr/bin/python3
"""libtorrent (python3-libtorrent from Debian) as a real client for the tracker interop tests.

DHT, LSD, UPnP, NAT-PMP and PEX off, so the tracker is the only source of peers; uTP off.
Prints one JSON object per line:
  {"event": "tracker_reply", "peers": N}     {"event": "tracker_error", "message": ...}
  {"event": "scrape_reply", "complete": N, "incomplete": N}
  {"event": "finished"}                       {"event": "timeout"}
Modes: leech (exits 0 when finished and its `completed` announce answered), seed (runs until killed or --timeout), scrape (adds
the torrent paused, so it never announces, scrapes once, exits 0 after the reply).
"""
import argparse
import json
import sys
import time

import libtorrent as lt

p = argparse.ArgumentParser()
p.add_argument("--torrent", required=True)
p.add_argument("--save", required=True)
p.add_argument("--listen", required=True, help="IP:PORT")
p.add_argument("--timeout", type=float, default=60)
p.add_argument("--mode", choices=["leech", "seed", "scrape"], default="leech")
args = p.parse_args()

ip, port = args.listen.rsplit(":", 1)
ses = lt.session(
    {
        "listen_interfaces": f"{ip}:{port}",
        "outgoing_interfaces": ip,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        # only what the loop below reads: with every category, each block and peer event of a
        # download becomes a Python object (it crashed once with SIGSEGV mid-download in the
        # full suite, after its first tracker reply; Debian's 2.0 binding)
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification,
        "tracker_receive_timeout": 10,
        "announce_to_all_trackers": True,
        # libtorrent's SSRF guard refuses requests to a localhost tracker whose path is not
        # /announce, which includes every /scrape
        "ssrf_mitigation": False,
    }
)
params = lt.add_torrent_params()
params.ti = lt.torrent_info(args.torrent)
params.save_path = args.save
# no PEX: the ut_pex extension is not added (lt 2.0 adds it by default through the session
# only when the plugin is loaded; disable_extensions leaves it out)
params.flags |= lt.torrent_flags.disable_pex if hasattr(lt.torrent_flags, "disable_pex") else 0
if args.mode == "scrape":
    params.flags |= lt.torrent_flags.paused
    params.flags &= ~lt.torrent_flags.auto_managed
h = ses.add_torrent(params)
if args.mode == "scrape":
    h.scrape_tracker()
start = time.monotonic()


def say(event, **kw):
    kw["event"] = event
    print(json.dumps(kw), flush=True)


finished = False
while time.monotonic() - start < args.timeout:
    ses.wait_for_alert(200)
    for a in ses.pop_alerts():
        if isinstance(a, lt.tracker_reply_alert):
            say("tracker_reply", peers=a.num_peers)
            if finished and args.mode == "leech":
                sys.exit(0)  # the reply to the `completed` announce
        elif isinstance(a, lt.tracker_error_alert):
            say("tracker_error", message=a.message())
        elif isinstance(a, lt.scrape_reply_alert):
            say("scrape_reply", complete=a.complete, incomplete=a.incomplete)
            sys.exit(0)
        elif isinstance(a, lt.scrape_failed_alert):
            say("scrape_failed", message=a.message(), error=a.error.message())
        elif isinstance(a, lt.torrent_finished_alert) and not finished:
            finished = True
            say("finished")
say("timeout")
sys.exit(1)
