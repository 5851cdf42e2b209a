/**
 * The settings table: every option meshseed has, once. The UCI file, the CLI flags, the
 * README's option list and the shipped `files/etc/config/meshseed` all follow from it (a test
 * checks the last two against it).
 *
 * A key is `<section>.<option>`: the UCI section name (`main`, `tracker`, `seeder`, `lpd`, `dht`)
 * and option name. The CLI flag is `--<section>-<option>` with dashes (`--tracker-port`),
 * except for `main`, whose flags have no prefix (`--state-dir`).
 */

export type SettingType = 'bool' | 'int' | 'string' | 'path' | 'enum' | 'list';
export type ListItem = 'address' | 'infohash' | 'url' | 'httpurl' | 'ifname' | 'hostport';

interface SpecBase {
  doc: string;
  /** Value in the shipped /etc/config/meshseed when it differs from the built-in default (always written there). */
  openwrt?: string | number | boolean | readonly string[];
  /**
   * Written in the shipped /etc/config/meshseed: the few options most routers change. The
   * file stays short (OpenWrt drops its comments at the first `uci commit`); every option is
   * listed by `meshseed config`.
   */
  shipped?: true;
}
export interface BoolSpec extends SpecBase {
  type: 'bool';
  default: boolean;
}
export interface IntSpec extends SpecBase {
  type: 'int';
  default: number;
  min: number;
  max: number;
  unit?: string;
}
export interface StringSpec extends SpecBase {
  type: 'string' | 'path';
  default: string;
}
export interface EnumSpec extends SpecBase {
  type: 'enum';
  default: string;
  values: readonly string[];
}
export interface ListSpec extends SpecBase {
  type: 'list';
  default: readonly string[];
  item: ListItem;
}
export type SettingSpec = BoolSpec | IntSpec | StringSpec | EnumSpec | ListSpec;

/** UCI section name → section type, as written in the config file (`config <type> '<name>'`). */
export const SECTIONS = {
  main: 'meshseed',
  tracker: 'tracker',
  seeder: 'seeder',
  lpd: 'lpd',
  dht: 'dht',
} as const;
export type SectionName = keyof typeof SECTIONS;

export const SETTINGS = {
  // ---- main ----
  'main.enabled': { shipped: true, type: 'bool', default: true, doc: 'Run the daemon at boot (read by the init script).' },
  'main.state_dir': {
    type: 'path',
    default: './state',
    openwrt: '/mnt/meshseed/state',
    doc: 'Folder for tracker state, resume data index and the status socket.',
  },
  'main.log_level': {
    shipped: true,
    type: 'enum',
    default: 'info',
    values: ['error', 'warn', 'info', 'debug'],
    doc: 'Least severe message written to the log.',
  },
  'main.max_heap_mb': {
    shipped: true,
    type: 'int',
    default: 64,
    min: 16,
    max: 4096,
    unit: 'MiB',
    doc: "Node's old-space heap limit (--max-old-space-size), set by the init script.",
  },
  'main.firewall_zone': {
    shipped: true,
    type: 'string',
    default: 'lan',
    doc: 'Firewall zone whose hosts may reach the tracker, peer (TCP), DHT (UDP) and LPD ports of the parts switched on (the init script opens them at every start and reload).',
  },

  // ---- tracker ----
  'tracker.enabled': { shipped: true, type: 'bool', default: true, doc: 'Run the HTTP and UDP tracker.' },
  'tracker.port': {
    shipped: true,
    type: 'int',
    default: 6969,
    min: 1,
    max: 65535,
    doc: 'Port for both HTTP (TCP) and UDP announces.',
  },
  'tracker.address': {
    type: 'list',
    default: [],
    item: 'address',
    doc: 'Addresses to listen on; none means every IPv4 and IPv6 address.',
  },
  'tracker.interval': {
    type: 'int',
    default: 120,
    min: 30,
    max: 86400,
    unit: 's',
    doc: 'Announce interval given to clients; peers expire after 1.5 intervals.',
  },
  'tracker.mode': {
    shipped: true,
    type: 'enum',
    default: 'open',
    values: ['open', 'allowlist'],
    doc: 'open tracks any torrent; allowlist only those in allowed_dir or allowed_hash.',
  },
  'tracker.allowed_dir': {
    type: 'path',
    default: './torrents',
    openwrt: '/mnt/meshseed/torrents',
    doc: 'Folder of .torrent files allowed in allowlist mode (rescanned on change and SIGHUP).',
  },
  'tracker.allowed_hash': {
    type: 'list',
    default: [],
    item: 'infohash',
    doc: 'Info hashes (40 hex digits) allowed in allowlist mode besides allowed_dir.',
  },
  'tracker.show_names': { type: 'bool', default: true, doc: 'Show names of allowed torrents on the stats page.' },
  'tracker.max_torrents': {
    type: 'int',
    default: 10000,
    min: 1,
    max: 1000000,
    doc: 'Most torrents tracked at once.',
  },
  'tracker.max_peers_per_torrent': {
    type: 'int',
    default: 2000,
    min: 1,
    max: 1000000,
    doc: 'Most peers kept in one swarm.',
  },
  'tracker.max_peers': {
    type: 'int',
    default: 100000,
    min: 1,
    max: 10000000,
    doc: 'Most peers kept in all swarms together.',
  },
  'tracker.numwant_default': {
    type: 'int',
    default: 50,
    min: 0,
    max: 1000,
    doc: 'Peers returned when an announce does not say numwant.',
  },
  'tracker.numwant_max': {
    type: 'int',
    default: 200,
    min: 1,
    max: 1000,
    doc: 'Most peers returned by one announce.',
  },
  'tracker.allow_ip_param': {
    type: 'bool',
    default: false,
    doc: 'Honour the ip= announce parameter (only on a mesh whose clients you trust).',
  },
  'tracker.rate_limit': {
    type: 'int',
    default: 50,
    min: 0,
    max: 1000000,
    unit: 'requests/s',
    doc: 'Announces and scrapes accepted per second from one address (bursts of twice that); 0 means no limit.',
  },
  'tracker.udp_receive_buffer': {
    type: 'int',
    default: 2048,
    min: 0,
    max: 65536,
    unit: 'KiB',
    doc: "UDP socket receive buffer (SO_RCVBUF) for announce bursts; 0 keeps the system's; the kernel caps it at net.core.rmem_max.",
  },

  // ---- seeder ----
  'seeder.enabled': { shipped: true, type: 'bool', default: true, doc: 'Seed the torrents of torrent_dir.' },
  'seeder.torrent_dir': {
    type: 'path',
    default: './torrents',
    openwrt: '/mnt/meshseed/torrents',
    doc: 'Watch folder: every .torrent here is seeded.',
  },
  'seeder.data_dir': {
    type: 'path',
    default: './data',
    openwrt: '/mnt/meshseed/data',
    doc: 'Folder holding the torrents\' data.',
  },
  'seeder.follow_symlinks': {
    type: 'bool',
    default: false,
    doc: 'Serve data files whose real path (symbolic links resolved) is outside data_dir.',
  },
  'seeder.max_files': {
    type: 'int',
    default: 50000,
    min: 1,
    max: 1000000,
    doc: 'Most files in one torrent; one with more is refused, with an error in the status (loading takes about 1 KiB of heap per file: 50,000 fit the 64 MiB default heap).',
  },
  'seeder.listen_port': {
    shipped: true,
    type: 'int',
    default: 6881,
    min: 1,
    max: 65535,
    doc: 'Peer-wire port (TCP); if busy, the next free of the 8 ports after it is taken (the range the firewall rule opens).',
  },
  'seeder.address': {
    type: 'list',
    default: [],
    item: 'address',
    doc: "Addresses the seeder listens on (TCP), and the DHT (UDP, the first IPv4 one); none means every IPv4 and IPv6 address.",
  },
  'seeder.upload_rate': {
    shipped: true,
    type: 'int',
    default: 256,
    min: 0,
    max: 10000000,
    unit: 'KiB/s',
    doc: 'Upload limit for all torrents together; 0 means unlimited.',
  },
  'seeder.torrent_upload_rate': {
    type: 'int',
    default: 0,
    min: 0,
    max: 10000000,
    unit: 'KiB/s',
    doc: 'Upload limit for each torrent; 0 means only the global limit.',
  },
  'seeder.download': {
    shipped: true,
    type: 'bool',
    default: true,
    doc: 'Mirror mode: download what a torrent of torrent_dir lacks (from peers and web seeds), then seed it; 0 seeds only the pieces verified on disk.',
  },
  'seeder.min_free_mb': {
    type: 'int',
    default: 64,
    min: 0,
    max: 10000000,
    unit: 'MiB',
    doc: 'Free space kept on the data_dir disk: a download waits (`waiting: seeder.min_free_mb`) rather than go below it.',
  },
  'seeder.download_rate': {
    type: 'int',
    default: 0,
    min: 0,
    max: 10000000,
    unit: 'KiB/s',
    doc: 'Download limit for all torrents together; 0 means unlimited.',
  },
  'seeder.torrent_download_rate': {
    type: 'int',
    default: 0,
    min: 0,
    max: 10000000,
    unit: 'KiB/s',
    doc: 'Download limit for each torrent; 0 means only the global limit.',
  },
  'seeder.hash_thread_rate': {
    type: 'int',
    default: 0,
    min: 0,
    max: 100000,
    unit: 'MiB/s',
    doc: 'A web seed read at least this fast moves piece hashing (SHA-1) to a thread of its own (machines of 2+ cores; about 9 MiB of memory while a download uses it); 0 (the default) hashes on the main thread only.',
  },
  'seeder.upload_slots': {
    type: 'int',
    default: 4,
    min: 1,
    max: 100,
    doc: 'Peers unchoked at once per torrent, rotated round-robin.',
  },
  'seeder.max_peers': {
    type: 'int',
    default: 100,
    min: 1,
    max: 10000,
    doc: 'Most peer connections in all torrents together.',
  },
  'seeder.max_peers_per_torrent': {
    type: 'int',
    default: 30,
    min: 1,
    max: 10000,
    doc: 'Most peer connections per torrent.',
  },
  'seeder.outgoing_encryption': {
    type: 'enum',
    default: 'plaintext_first',
    values: ['plaintext_first', 'mse_first', 'mse_required', 'plaintext'],
    doc: 'Peers we dial: plaintext_first tries plain text and, if the peer hangs up before its handshake, dials it once more over MSE (remembered per peer); mse_first opens with MSE and falls back to plain text once; mse_required only MSE; plaintext never MSE. MSE offers plain text or RC4, the peer picks. Incoming MSE is always answered.',
  },
  'seeder.dial_retry': {
    type: 'int',
    default: 30,
    min: 1,
    max: 3600,
    unit: 's',
    doc: 'A peer we could not reach is dialled again after this, then after twice as long each time (at most 30 min, 6 tries), without waiting for a tracker to name it again.',
  },
  'seeder.mesh_tracker': {
    shipped: true,
    type: 'list',
    default: [],
    item: 'url',
    doc: 'In-mesh tracker announce URLs, announced to as a tier of their own.',
  },
  'seeder.announce_self': {
    type: 'bool',
    default: true,
    doc: "Also announce to this daemon's own tracker (when it runs).",
  },
  'seeder.catalog': {
    type: 'list',
    default: [],
    shipped: true,
    item: 'httpurl',
    doc: 'Catalogs subscribed to (a node\'s /catalog.json, a directory listing of .torrent files, an RSS or Atom feed): new .torrent files go into torrent_dir.',
  },
  'seeder.catalog_interval': {
    type: 'int',
    default: 900,
    min: 5,
    max: 604800,
    unit: 's',
    doc: 'How often each catalog is fetched (conditional GET), with up to 10% random jitter.',
  },
  'seeder.catalog_remove': {
    type: 'bool',
    default: false,
    doc: 'Remove .torrent files (never data) that a catalog added once they leave it.',
  },
  'seeder.max_disk_mb': {
    type: 'int',
    default: 0,
    min: 0,
    max: 100000000,
    unit: 'MiB',
    doc: 'Most data the torrents of torrent_dir may hold: catalog torrents that do not fit are not fetched, and mirror mode does not start a download that does not fit (waiting: over max_disk_mb), in catalog order. 0 means no limit.',
  },

  // ---- lpd ----
  'lpd.enabled': { shipped: true, type: 'bool', default: true, doc: 'Local Peer Discovery (BEP 14) on the mesh interfaces.' },
  'lpd.interface': {
    shipped: true,
    type: 'list',
    default: [],
    item: 'ifname',
    doc: 'Interfaces to announce and listen on; none means the LAN bridges (br-lan, br-mesh) that exist.',
  },
  'lpd.ipv6': { type: 'bool', default: true, doc: 'Also use the IPv6 group [ff15::efc0:988f]:6771.' },
  'lpd.bridge_to_tracker': {
    type: 'bool',
    default: true,
    doc: "Register peers heard by LPD in this daemon's tracker.",
  },
  'lpd.bridge_to_seeder': {
    type: 'bool',
    default: true,
    doc: 'Offer peers heard by LPD to the seeder as connection candidates.',
  },
  'lpd.introduce': {
    type: 'bool',
    default: true,
    doc: 'Introduce clients heard by LPD to the peers this node knows or looks up (one ut_pex message; never for private torrents).',
  },
  'lpd.lookup_tracker': {
    type: 'list',
    default: [],
    item: 'url',
    doc: 'Mesh tracker announce URLs asked for peers to introduce when this node knows none (besides seeder.mesh_tracker).',
    },

  // ---- dht ----
  'dht.enabled': { shipped: true, type: 'bool', default: true, doc: 'Run a Mainline DHT node (BEP 5), bootstrapped only from mesh nodes and bootstrap.' },
  'dht.port': {
    type: 'int',
    default: 0,
    min: 0,
    max: 65535,
    doc: "UDP port of the DHT node; 0 means the seeder's peer-wire port. It listens on the first IPv4 address of seeder.address (every address when none).",
  },
  'dht.bootstrap': {
    shipped: true,
    type: 'list',
    default: [],
    item: 'hostport',
    doc: 'Extra bootstrap nodes (host:port); none means only mesh nodes (LPD, port messages, mesh trackers) are contacted.',
  },
  'dht.max_nodes': {
    type: 'int',
    default: 2000,
    min: 8,
    max: 3200,
    doc: 'Most nodes kept in the routing table (20 per bucket, so at most 3200).',
  },
  'dht.max_peers': {
    type: 'int',
    default: 10000,
    min: 100,
    max: 1000000,
    doc: 'Most peers stored for other nodes, all info hashes together (they expire after 30 minutes).',
  },
  'dht.max_peers_per_torrent': {
    type: 'int',
    default: 100,
    min: 1,
    max: 150,
    doc: 'Most peers stored for one info hash (150 fill one datagram of a get_peers reply).',
  },
  'dht.query_rate': {
    type: 'int',
    default: 20,
    min: 0,
    max: 100000,
    unit: 'queries/s',
    doc: 'DHT queries answered per second from one address (bursts of twice that); 0 means no limit.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
type ValueOf<S> = S extends { type: 'bool' }
  ? boolean
  : S extends { type: 'int' }
    ? number
    : S extends { type: 'list' }
      ? string[]
      : string;
export type Settings = { -readonly [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export function specOf(key: SettingKey): SettingSpec {
  return SETTINGS[key] as SettingSpec;
}

export function splitKey(key: SettingKey): { section: SectionName; option: string } {
  const dot = key.indexOf('.');
  return { section: key.slice(0, dot) as SectionName, option: key.slice(dot + 1) };
}

/** `--tracker-port`, `--state-dir` (main has no prefix). Returned without the dashes. */
export function flagOf(key: SettingKey): string {
  const { section, option } = splitKey(key);
  const o = option.replace(/_/g, '-');
  return section === 'main' ? o : `${section}-${o}`;
}

export function defaultSettings(): Settings {
  const out = {} as Record<string, unknown>;
  for (const key of SETTING_KEYS) {
    const d = specOf(key).default;
    out[key] = Array.isArray(d) ? [...d] : d;
  }
  return out as Settings;
}

/** The value as UCI writes it: bools as 0/1. */
export function uciText(value: string | number | boolean): string {
  return typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
}
