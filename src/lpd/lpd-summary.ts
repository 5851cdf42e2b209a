/**
 * One line of LPD counters for `meshseed status` and the tracker's stats page. Pure: takes
 * the LPD service's status (or anything, as `meshseed status` gets it over a socket).
 */
export function lpdSummary(status: unknown): string | undefined {
  if (typeof status !== 'object' || status === null) return undefined;
  const s = status as Record<string, unknown>;
  const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
  if (s.enabled === false) return 'LPD: off';
  if (typeof s.idle === 'string') return `LPD: idle (${s.idle})`;
  const ifaces = Array.isArray(s.interfaces) ? s.interfaces.length : 0;
  const dropped = typeof s.dropped === 'object' && s.dropped !== null ? Object.entries(s.dropped as Record<string, number>).filter(([, v]) => v > 0) : [];
  const droppedTotal = dropped.reduce((t, [, v]) => t + v, 0);
  return (
    `LPD on ${ifaces} interface(s): ${n('sent')} sent, ${n('received')} received, ${droppedTotal} dropped` +
    (dropped.length ? ` (${dropped.map(([k, v]) => `${k} ${v}`).join(', ')})` : '') +
    `; peers: ${n('peersRegisteredInTracker')} registered in the tracker, ${n('peersOfferedToSeeder')} offered to the seeder`
  );
}

/** One line of introduction counters (src/lpd/introducer.ts), for `meshseed status` and the stats page. */
export function introductionsSummary(status: unknown): string | undefined {
  if (typeof status !== 'object' || status === null) return undefined;
  const s = status as Record<string, unknown>;
  if (s.enabled === false) return 'introductions: off';
  const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
  const refused = typeof s.refused === 'object' && s.refused !== null ? Object.entries(s.refused as Record<string, number>).filter(([, v]) => v > 0) : [];
  const total = refused.reduce((t, [, v]) => t + v, 0);
  return (
    `introductions: ${n('sent')} sent, ${n('peersGiven')} peers given, ${total} refused` +
    (refused.length ? ` (${refused.map(([k, v]) => `${k} ${v}`).join(', ')})` : '')
  );
}
