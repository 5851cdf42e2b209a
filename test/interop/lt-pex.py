#!/usr/bin/python3
"""Two libtorrent clients join a swarm through one seed; succeeds when both know of the
other (a peer list of two: the seed and the other client) or one is connected to the other
by way of PEX. They have no tracker, DHT or LPD: PEX (BEP 11) from the seed is the only
way they can learn of each other. (On loopback both often dial each other at the same
moment and libtorrent then drops both connections as duplicates, so a connection is not
required.)

Usage: lt-pex.py TORRENT SAVE_DIR SEED_HOST:PORT [--timeout S]
Prints "pex ok" and exits 0, or exits 1 after the timeout.
"""
import os, sys, time
import libtorrent as lt

torrent, save, peer = sys.argv[1], sys.argv[2], sys.argv[3]
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 40
host, port = peer.rsplit(':', 1)

def client(name):
    s = lt.session({
        'listen_interfaces': '127.0.0.1:0',
        'outgoing_interfaces': '127.0.0.1',
        'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
        'enable_outgoing_utp': False, 'enable_incoming_utp': False,
        'allow_multiple_connections_per_ip': True,
        'peer_fingerprint': '-LT20%s-' % name,
        'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification,
    })
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = os.path.join(save, name)
    atp.trackers = []
    h = s.add_torrent(atp)
    h.connect_peer((host, int(port)))
    return s, h

a = client('A0')
b = client('B0')
start = time.time()
while time.time() - start < timeout:
    learned = []
    for s, h in (a, b):
        peers = h.get_peer_info()
        connected = any((p.source & lt.peer_info.pex) and p.ip[1] != int(port) for p in peers)
        learned.append(connected or h.status().list_peers >= 2)
        if not peers:
            h.connect_peer((host, int(port)))
    if all(learned):
        print('pex ok', flush=True)
        sys.exit(0)
    time.sleep(0.2)
for s, h in (a, b):
    st = h.status()
    print('peers:', [(p.ip, p.source) for p in h.get_peer_info()], 'list_peers', st.list_peers, 'connect_candidates', st.connect_candidates, flush=True)
    for al in s.pop_alerts():
        print('  alert:', al.message(), flush=True)
sys.exit(1)
