#!/usr/bin/python3
"""Downloads one torrent with libtorrent (python3-libtorrent) from one given peer, then exits.

Usage: lt-download.py (--torrent FILE | --magnet URI) --save DIR (--peer HOST:PORT | --trackers | --tracker URL)
                      [--interface IP] [--timeout S] [--download-limit BYTES_PER_S] [--enc POLICY]
Exit 0 when the download is complete and checked, 1 otherwise. No DHT, LPD or UPnP; with
--peer only that peer (the torrent's trackers are dropped), with --trackers only the peers
the torrent's (or magnet's) trackers give, with --tracker only that tracker's. Listens on --interface (default 127.0.0.1) only.
"""
import argparse, resource, sys, time
import libtorrent as lt

from lt_enc import ENC, enc_settings

ap = argparse.ArgumentParser()
ap.add_argument('--torrent')
ap.add_argument('--magnet')
ap.add_argument('--save', required=True)
ap.add_argument('--peer')
ap.add_argument('--trackers', action='store_true')
ap.add_argument('--tracker', action='append', default=[], help='announce to this URL instead of the torrent\'s trackers')
ap.add_argument('--interface', default='127.0.0.1')
ap.add_argument('--timeout', type=float, default=60)
ap.add_argument('--download-limit', type=int, default=0)
ap.add_argument('--enc', choices=sorted(ENC), default='enabled', help='protocol encryption (MSE): see lt_enc.py')
ap.add_argument('--progress', action='store_true', help='print "progress <seconds> <bytes done>" twice a second')
a = ap.parse_args()

s = lt.session({
    **enc_settings(a.enc),
    'listen_interfaces': a.interface + ':0',
    'outgoing_interfaces': a.interface,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    # REFERENCE: after connecting to itself once, libtorrent bans 127.0.0.1 without this
    'allow_multiple_connections_per_ip': True,
    # meshseed speaks TCP only
    'enable_outgoing_utp': False, 'enable_incoming_utp': False,
    'alert_mask': lt.alert.category_t.all_categories if False else (lt.alert.category_t.error_notification | lt.alert.category_t.status_notification | lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification),
})
if a.download_limit:
    s.apply_settings({'download_rate_limit': a.download_limit})
    # libtorrent exempts local peers from rate limits unless they are in the global class
    f = lt.ip_filter()
    f.add_rule('0.0.0.0', '255.255.255.255', 1 << lt.session.global_peer_class_id)
    s.set_peer_class_filter(f)

if a.torrent:
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(a.torrent)
else:
    atp = lt.parse_magnet_uri(a.magnet)
atp.save_path = a.save
if a.tracker:
    atp.trackers = a.tracker
elif not a.trackers:
    atp.trackers = []
h = s.add_torrent(atp)
if a.peer:
    host, port = a.peer.rsplit(':', 1)
    h.connect_peer((host, int(port)))

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

start = time.time()
cpu_start = cpu()
first_byte = None
last_connect = start
while time.time() - start < a.timeout:
    st = h.status()
    if a.progress:
        print('progress %.3f %d' % (time.time() - start, st.total_wanted_done), flush=True)
    if first_byte is None and st.total_wanted_done > 0:
        first_byte = time.time()
    if st.is_seeding or (st.state == lt.torrent_status.seeding):
        now = time.time()
        # for bench/download.mjs: the time from the first byte, CPU seconds since the torrent was added, peak memory
        # ru_maxrss: the peak resident size of this process (KiB on Linux), python and libtorrent together
        print('complete %.2f s %d bytes (from first byte %.3f s, cpu %.3f s, peak rss %d KiB)' % (now - start, st.total_wanted, now - (first_byte or start), cpu() - cpu_start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss), flush=True)
        sys.exit(0)
    if a.peer and time.time() - last_connect > 2 and st.num_peers == 0:
        h.connect_peer((host, int(port)))
        last_connect = time.time()
    for al in s.pop_alerts():
        if True:
            print('alert:', al.message(), flush=True)
    # polled often so the first byte is seen within a few ms (bench)
    time.sleep(0.5 if a.progress else 0.01)
st = h.status()
print('timeout: state %s progress %.3f peers %d' % (st.state, st.progress, st.num_peers), flush=True)
sys.exit(1)
