/**
 * Lines about catalog subscriptions and magnets for `meshseed status`. Pure: takes the
 * catalog and magnet services' status (or anything, as it comes over the socket).
 */
export function catalogSummary(catalog: unknown, magnet: unknown): string[] {
  const lines: string[] = [];
  const list = (v: unknown, k: string): Record<string, unknown>[] =>
    typeof v === 'object' && v !== null && Array.isArray((v as Record<string, unknown>)[k]) ? ((v as Record<string, unknown>)[k] as Record<string, unknown>[]) : [];
  for (const c of list(catalog, 'catalogs')) {
    const waiting = Array.isArray(c.waiting) ? c.waiting.length : 0;
    lines.push(`catalog ${String(c.url)}: ${String(c.lastResult)}; ${Number(c.added) || 0} added${waiting ? `, ${waiting} waiting (over max_disk_mb)` : ''}${Number(c.failed) ? `, ${Number(c.failed)} refused` : ''}`);
  }
  for (const m of list(magnet, 'magnets'))
    lines.push(`magnet ${String(m.file)}${m.name ? ` (${String(m.name)})` : ''}: fetching metadata for ${Number(m.forS) || 0} s, ${Number(m.peersTried) || 0} peer(s) tried`);
  return lines;
}
