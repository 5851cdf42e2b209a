/**
 * BT-SEARCH datagrams as real clients send them. The captured ones were recorded on Debian 12
 * (aria2 1.36, Transmission 3.00, libtorrent 2.0.8 through python3-libtorrent) inside two
 * network namespaces joined by a veth pair, by a socket joined to both LPD groups, for a
 * one-file torrent whose info hash is HASH below.
 */
export const HASH = '0f28d54eb0aaf47495a400805dca74c4a8ed4c4c';

export interface LpdFixture {
  client: string;
  /** How we know it: captured from the Debian package, or rebuilt from the client's source. */
  origin: string;
  /** Source port it came from. */
  sourcePort: string;
  text: string;
  expect: { port: number; infoHashes: string[]; cookie?: string; host: string };
}

export const FIXTURES: LpdFixture[] = [
  {
    client: 'libtorrent 2.0.8 (IPv4)',
    origin: 'captured',
    sourcePort: '6771 (its receive socket), TTL 32, sent 3 times about 0, 2 and 6 s apart',
    text: `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${HASH}\r\ncookie: 460bf17a\r\n\r\n\r\n`,
    expect: { port: 6881, infoHashes: [HASH], cookie: '460bf17a', host: '239.192.152.143:6771' },
  },
  {
    client: 'libtorrent 2.0.8 (IPv6)',
    origin: 'captured',
    sourcePort: '6771',
    text: `BT-SEARCH * HTTP/1.1\r\nHost: [ff15::efc0:988f]:6771\r\nPort: 6881\r\nInfohash: ${HASH}\r\ncookie: 184158d\r\n\r\n\r\n`,
    expect: { port: 6881, infoHashes: [HASH], cookie: '184158d', host: '[ff15::efc0:988f]:6771' },
  },
  {
    client: 'aria2 1.36',
    origin: 'captured',
    sourcePort: 'ephemeral, no cookie',
    text: `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6904\r\nInfohash: ${HASH}\r\n\r\n\r\n`,
    expect: { port: 6904, infoHashes: [HASH], host: '239.192.152.143:6771' },
  },
  {
    client: 'Transmission 3.00',
    origin: 'captured',
    sourcePort: 'ephemeral, upper-case hex, no cookie',
    text: `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 51413\r\nInfohash: ${HASH.toUpperCase()}\r\n\r\n\r\n`,
    expect: { port: 51413, infoHashes: [HASH], host: '239.192.152.143:6771' },
  },
  {
    // Debian 12 ships Transmission 3.00; 4.x packs every due torrent into one datagram of at
    // most 1400 bytes, upper-case, with a 12-character alphanumeric cookie.
    client: 'Transmission 4',
    origin: "rebuilt from Transmission 4's tr-lpd.cc makeAnnounceMsg",
    sourcePort: 'ephemeral',
    text:
      'BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 51413\r\n' +
      `Infohash: ${HASH.toUpperCase()}\r\n` +
      'Infohash: 5A8E2F0C11D3B4E6F7A8091A2B3C4D5E6F708192\r\n' +
      'Infohash: FFEEDDCCBBAA99887766554433221100FFEEDDCC\r\n' +
      'cookie: aZ3kP9qR2mXw\r\n\r\n\r\n',
    expect: {
      port: 51413,
      infoHashes: [HASH, '5a8e2f0c11d3b4e6f7a8091a2b3c4d5e6f708192', 'ffeeddccbbaa99887766554433221100ffeeddcc'],
      cookie: 'aZ3kP9qR2mXw',
      host: '239.192.152.143:6771',
    },
  },
  {
    client: 'webtorrent (bittorrent-lsd)',
    origin: "rebuilt from bittorrent-lsd's _announce",
    sourcePort: '6771',
    text: `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${HASH}\r\ncookie: bittorrent-lsd-2d5757303130302d616263646566676869303132\r\n\r\n\r\n`,
    expect: {
      port: 6881,
      infoHashes: [HASH],
      cookie: 'bittorrent-lsd-2d5757303130302d616263646566676869303132',
      host: '239.192.152.143:6771',
    },
  },
];
