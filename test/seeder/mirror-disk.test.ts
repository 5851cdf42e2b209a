// deadline: 10s
/** mayDownload (mirror-disk.ts): max_disk_mb in mirror mode, through the catalog's planDisk. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mayDownload, type DiskHolder } from '../../src/seeder/mirror-disk';

const MB = 1024 * 1024;
const t = (key: string, mb: number, holds = false, wants = !holds): DiskHolder => ({ key, size: mb * MB, holds, wants });

const rows: [string, DiskHolder[], string, number, boolean][] = [
  ['no limit: always', [t('seeded', 900, true), t('a', 900)], 'a', 0, true],
  ['fits beside what is seeded', [t('seeded', 60, true), t('a', 40)], 'a', 100, true],
  ['does not fit beside what is seeded', [t('seeded', 70, true), t('a', 40)], 'a', 100, false],
  ['a download running counts whole', [t('running', 70, true), t('a', 40)], 'a', 100, false],
  ['catalog order: the first one takes the room', [t('a', 60), t('b', 60)], 'b', 100, false],
  ['catalog order: the first one is admitted', [t('a', 60), t('b', 60)], 'a', 100, true],
  ['a later smaller one fits where a big one does not', [t('big', 200), t('small', 50)], 'small', 100, true],
  ['the big one keeps its place: waits', [t('big', 200), t('small', 50)], 'big', 100, false],
  ['a torrent that wants nothing takes no room', [t('checking', 90, false, false), t('a', 60)], 'a', 100, true],
  ['the asking torrent counts even when not yet wanting', [t('a', 60, false, false), t('b', 60)], 'b', 100, true],
  ['exactly the limit fits', [t('seeded', 50, true), t('a', 50)], 'a', 100, true],
];
for (const [name, torrents, key, limitMb, want] of rows)
  test(`mayDownload: ${name}`, () => assert.is(mayDownload(torrents, key, limitMb * MB), want));

test.run();
