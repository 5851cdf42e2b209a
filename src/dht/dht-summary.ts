/**
 * One line of DHT counters for `meshseed status` and the tracker's stats page. Pure: takes
 * the DHT service's status (or anything, as `meshseed status` gets it over a socket).
 */
export function dhtSummary(status: unknown): string | undefined {
  if (typeof status !== 'object' || status === null) return undefined;
  const s = status as Record<string, unknown>;
  const n = (o: unknown, k: string) => (typeof o === 'object' && o !== null && typeof (o as Record<string, unknown>)[k] === 'number' ? ((o as Record<string, number>)[k] as number) : 0);
  if (s.enabled === false) return 'DHT: off';
  if (s.running === false) return 'DHT: not running (see the log)';
  const sock = s.socket;
  const dropped = typeof sock === 'object' && sock !== null ? (sock as Record<string, unknown>).dropped : undefined;
  const droppedList = typeof dropped === 'object' && dropped !== null ? Object.entries(dropped as Record<string, number>).filter(([, v]) => typeof v === 'number' && v > 0) : [];
  const droppedTotal = droppedList.reduce((t, [, v]) => t + v, 0);
  return (
    `DHT on UDP ${n(s, 'port')}: ${n(s, 'nodes')} nodes, ${n(s, 'torrentsAnnounced')} torrents announced, ` +
    `queries ${n(sock, 'queriesIn')} in / ${n(sock, 'queriesOut')} out, ${droppedTotal} dropped` +
    (droppedList.length ? ` (${droppedList.map(([k, v]) => `${k} ${v}`).join(', ')})` : '') +
    `; ${n(s, 'storedPeers')} peers stored for ${n(s, 'storedTorrents')} torrents`
  );
}
