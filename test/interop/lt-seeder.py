#!/usr/bin/python3
"""A libtorrent seeder that connects to given peers (meshseed in mirror mode), for the tests.

Usage: lt-seeder.py --torrent FILE --data DIR --port PORT [--peer HOST:PORT ...]
                    [--host 127.0.0.X] [--trust-data] [--upload-limit BYTES_PER_S] [--announce]
                    [--enc enabled|forced|forced-rc4|disabled]
Prints "ready" once it seeds, then keeps (re)connecting to the peers until killed. With
--trust-data the data is not checked (libtorrent's seed mode): a test that corrupted it gets a
seeder that sends wrong blocks. Listens on --host (a loopback address, default 127.0.0.1) only; no DHT, LPD, UPnP or trackers.
"""
import argparse, sys, time
import libtorrent as lt

from lt_enc import ENC, enc_settings

ap = argparse.ArgumentParser()
ap.add_argument('--torrent', required=True)
ap.add_argument('--data', required=True)
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--peer', action='append', default=[])
ap.add_argument('--host', default='127.0.0.1')
ap.add_argument('--announce', action='store_true')
ap.add_argument('--trust-data', action='store_true')
ap.add_argument('--upload-limit', type=int, default=0)
ap.add_argument('--enc', choices=sorted(ENC), default='enabled', help='protocol encryption (MSE): see lt_enc.py')
a = ap.parse_args()

s = lt.session({
    **enc_settings(a.enc),
    'listen_interfaces': '%s:%d' % (a.host, a.port),
    'outgoing_interfaces': a.host,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'enable_outgoing_utp': False, 'enable_incoming_utp': False,
    'allow_multiple_connections_per_ip': True,
    'upload_rate_limit': a.upload_limit,
})
if a.upload_limit:
    f = lt.ip_filter()
    f.add_rule('0.0.0.0', '255.255.255.255', 1 << lt.session.global_peer_class_id)
    s.set_peer_class_filter(f)
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(a.torrent)
atp.save_path = a.data
if not a.announce:
    atp.trackers = []
if a.trust_data:
    atp.flags |= lt.torrent_flags.seed_mode
h = s.add_torrent(atp)
while not h.status().is_seeding:
    time.sleep(0.05)
print('ready', flush=True)
peers = [(p.rsplit(':', 1)[0], int(p.rsplit(':', 1)[1])) for p in a.peer]
while True:
    if h.status().num_peers < len(peers):
        for p in peers:
            h.connect_peer(p)
    time.sleep(1)
