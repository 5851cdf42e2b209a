#!/usr/bin/python3
"""A libtorrent seeder for bench/seed.mjs: seeds torrents from a folder on 127.0.0.1.

Usage: lt-seed.py TORRENT[,TORRENT...] DATA_DIR PORT [UPLOAD_LIMIT_BYTES_PER_S]
Prints "ready" once the data is checked and it seeds; runs until killed.
With LT_WAIT_STDIN=1 (bench/router.mjs) it prints "idle" once the session runs and adds the
torrents only after a line arrives on stdin; once seeding, a line "mirror T[,T...] DIR" adds
torrents to download into DIR (from the peers their tracker gives), and it prints "mirrored"
when they are complete.
"""
import os, sys, time
import libtorrent as lt

torrent, data, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
limit = int(sys.argv[4]) if len(sys.argv) > 4 else 0
s = lt.session({
    'listen_interfaces': '127.0.0.1:%d' % port,
    'outgoing_interfaces': '127.0.0.1',
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'enable_outgoing_utp': False, 'enable_incoming_utp': False,
    'allow_multiple_connections_per_ip': True,
    'upload_rate_limit': limit,
})
if limit:
    # local peers are exempt from rate limits unless put in the global peer class
    f = lt.ip_filter()
    f.add_rule('0.0.0.0', '255.255.255.255', 1 << lt.session.global_peer_class_id)
    s.set_peer_class_filter(f)
if os.environ.get('LT_WAIT_STDIN') == '1':
    print('idle', flush=True)
    sys.stdin.readline()
handles = []
for t in torrent.split(','):
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(t)
    atp.save_path = data
    handles.append(s.add_torrent(atp))
while not all(h.status().is_seeding for h in handles):
    time.sleep(0.1)
print('ready', flush=True)
if os.environ.get('LT_WAIT_STDIN') == '1':
    words = sys.stdin.readline().split()
    if len(words) == 3 and words[0] == 'mirror':
        mirror = []
        for t in words[1].split(','):
            atp = lt.add_torrent_params()
            atp.ti = lt.torrent_info(t)
            atp.save_path = words[2]
            mirror.append(s.add_torrent(atp))
        while not all(h.status().is_seeding for h in mirror):
            time.sleep(0.05)
        print('mirrored', flush=True)
while True:
    time.sleep(1)
