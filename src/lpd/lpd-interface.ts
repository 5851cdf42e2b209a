/**
 * LPD on one endpoint (an interface and an address family): announces torrents to the group
 * on a clock and hands valid searches heard there to the service.
 *
 * Announcing (BEP 14, with the pacing real receivers need):
 * - each torrent every ANNOUNCE_INTERVAL_MS (5 minutes) on this endpoint;
 * - a torrent added (or an endpoint that appears) is first announced FIRST_ANNOUNCE_DELAY_MS
 *   later, so a batch of .torrent files found together is sent as a queue, not a burst;
 * - never more than one datagram per SEND_GAP_MS (1 s): the due torrents wait in a queue,
 *   oldest due first. With more than 300 torrents the 5-minute interval stretches to one
 *   second per torrent rather than break the rate;
 * - one infohash per datagram (Transmission 3 and aria2 read only the first).
 *
 * Receiving, in this order: a token bucket caps what is parsed (ACCEPT_RATE_PER_SEC, burst
 * ACCEPT_BURST), then the codec, then our own cookie; every drop is counted by reason.
 *
 * Sockets stay outside: `open` makes the transport, `onDatagram(bytes, from)` is the one
 * entry point for received bytes, and time comes from the injected clock.
 */
import { formatSearch, parseSearch, type LpdDropReason, type ReceivedSearch } from '../codec/lpd.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { describeError } from '../errors.js';
import type { LpdEndpoint } from './endpoints.js';
import type { DatagramSource, LpdTransport, OpenTransport } from './udp-transport.js';

/** BEP 14 peers re-announce every few minutes; 5 minutes per torrent per interface, as libtorrent. */
export const ANNOUNCE_INTERVAL_MS = 5 * 60_000;
/** First announce of a new torrent: within 5 s even when a few arrive together (1 s, then 1/s). */
export const FIRST_ANNOUNCE_DELAY_MS = 1_000;
/** At most one datagram per second per interface: a mesh's Wi-Fi multicast runs at the basic rate. */
export const SEND_GAP_MS = 1_000;
/** Retry when the seeder has no listen port yet. */
const NO_PORT_RETRY_MS = 1_000;
/**
 * Accepted datagrams per second per interface. Transmission drops above 10/s averaged over
 * 5 s; the same budget as a token bucket (10/s, burst 50) lets a libtorrent that starts with
 * many torrents (it sends each three times in 6 s, unpaced) through, while a flood is held
 * to 10 parses a second, each registering at most 32 peers in the bounded tracker.
 */
export const ACCEPT_RATE_PER_SEC = 10;
export const ACCEPT_BURST = 50;

export type InterfaceDropReason = LpdDropReason | 'rate-limited' | 'own-cookie';

export interface LpdInterfaceCounters {
  sent: number;
  sendErrors: number;
  received: number;
  dropped: Partial<Record<InterfaceDropReason, number>>;
  accepted: number;
}

export interface LpdInterfaceDeps {
  clock: Clock;
  log: Logger;
  open: OpenTransport;
  /** Service-wide totals, counted at the same moment as this endpoint's (they outlive it). */
  totals?: LpdInterfaceCounters;
  /** Our cookie: a datagram carrying it is ours, come back (another socket, a bridge loop). */
  cookie: string;
  /** The seeder's peer-wire port, or undefined while it has none. */
  listenPort(): number | undefined;
  /** Every datagram the socket receives, before routing (the service picks the owning endpoint). */
  onMessage(iface: LpdInterface, bytes: Uint8Array, from: DatagramSource): void;
  /** A valid search from another peer, heard on this endpoint. */
  onSearch(search: ReceivedSearch, from: DatagramSource, iface: LpdInterface): void;
  /** The socket failed (interface gone or down): the service closes this endpoint. */
  onFailure(iface: LpdInterface, err: Error): void;
}

/** Send errors that mean the interface is gone or unusable, not a dropped datagram. */
const FATAL_SEND_CODES = new Set(['ENODEV', 'EADDRNOTAVAIL', 'ENXIO', 'ENETDOWN', 'EBADF']);

export class LpdInterface {
  readonly counters: LpdInterfaceCounters = { sent: 0, sendErrors: 0, received: 0, dropped: {}, accepted: 0 };
  /** infohash → when it is next due (clock ms). */
  private readonly due = new Map<string, number>();
  private transport: LpdTransport | undefined;
  private timer: { cancel(): void } | undefined;
  private timerAt = Infinity;
  private lastSentAt = -Infinity;
  private closed = false;
  private tokens = ACCEPT_BURST;
  private tokensAt: number;

  constructor(
    private readonly deps: LpdInterfaceDeps,
    readonly endpoint: LpdEndpoint,
  ) {
    this.tokensAt = deps.clock.now();
  }

  get name(): string {
    return `${this.endpoint.ifname}/IPv${this.endpoint.family}`;
  }

  /** Opens the socket; rejects when it cannot (the service retries on its next check). */
  async start(): Promise<void> {
    const t = await this.deps.open(
      this.endpoint,
      (bytes, from) => this.deps.onMessage(this, bytes, from),
      (err) => this.deps.onFailure(this, err),
    );
    if (this.closed) {
      t.close();
      return;
    }
    this.transport = t;
    this.schedule();
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.transport?.close();
    this.transport = undefined;
  }

  /** The public torrents to announce; new ones are announced soon, removed ones no more. */
  setTorrents(infoHashes: Iterable<string>): void {
    const now = this.deps.clock.now();
    const keep = new Set(infoHashes);
    for (const h of this.due.keys()) if (!keep.has(h)) this.due.delete(h);
    for (const h of keep) if (!this.due.has(h)) this.due.set(h, now + FIRST_ANNOUNCE_DELAY_MS);
    this.schedule();
  }

  /** One received datagram (already routed to this endpoint). */
  onDatagram(bytes: Uint8Array, from: DatagramSource): void {
    if (this.closed) return;
    this.count('received');
    if (!this.takeToken()) return this.drop('rate-limited');
    const r = parseSearch(bytes);
    if (!r.ok) return this.drop(r.reason);
    if (r.search.cookie === this.deps.cookie) return this.drop('own-cookie');
    this.count('accepted');
    this.deps.onSearch(r.search, from, this);
  }

  private drop(reason: InterfaceDropReason): void {
    for (const c of [this.counters, this.deps.totals]) if (c) c.dropped[reason] = (c.dropped[reason] ?? 0) + 1;
  }

  private count(what: 'sent' | 'sendErrors' | 'received' | 'accepted'): void {
    this.counters[what]++;
    if (this.deps.totals) this.deps.totals[what]++;
  }

  private takeToken(): boolean {
    const now = this.deps.clock.now();
    this.tokens = Math.min(ACCEPT_BURST, this.tokens + ((now - this.tokensAt) * ACCEPT_RATE_PER_SEC) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Sets the one timer for the next send: the earliest due time, no sooner than the send gap allows. */
  private schedule(): void {
    if (this.closed || !this.transport) return;
    let next = Infinity;
    for (const at of this.due.values()) if (at < next) next = at;
    if (next === Infinity) {
      this.timer?.cancel();
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    next = Math.max(next, this.lastSentAt + SEND_GAP_MS);
    if (this.timer && this.timerAt === next) return;
    this.timer?.cancel();
    this.timerAt = next;
    this.timer = this.deps.clock.setTimeout(() => this.fire(), Math.max(0, next - this.deps.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.closed || !this.transport) return;
    const now = this.deps.clock.now();
    let pick: string | undefined;
    let pickAt = Infinity;
    for (const [h, at] of this.due) if (at <= now && at < pickAt) [pick, pickAt] = [h, at];
    if (pick === undefined) return this.schedule();
    const port = this.deps.listenPort();
    if (port === undefined || port < 1 || port > 65534) {
      // nothing to announce yet: look again shortly, keeping the queue order
      for (const [h, at] of this.due) if (at <= now) this.due.set(h, now + NO_PORT_RETRY_MS);
      return this.schedule();
    }
    this.due.set(pick, now + ANNOUNCE_INTERVAL_MS);
    this.lastSentAt = now;
    const bytes = formatSearch({ host: this.endpoint.group, port, infoHashHex: pick, cookie: this.deps.cookie });
    const transport = this.transport;
    transport.send(bytes).then(
      () => this.count('sent'),
      (err: NodeJS.ErrnoException) => {
        this.count('sendErrors');
        if (err.code && FATAL_SEND_CODES.has(err.code)) this.deps.onFailure(this, err);
        else this.deps.log.debug(`${this.name}: send failed: ${describeError(err)}`);
      },
    );
    this.schedule();
  }
}
