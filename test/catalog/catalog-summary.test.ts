// deadline: 10s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { catalogSummary } from '../../src/catalog/catalog-summary';

test('status lines for catalogs and magnets; anything else gives none', () => {
  assert.equal(
    catalogSummary(
      { catalogs: [{ url: 'http://10.0.0.1:6969/catalog.json', lastResult: 'ok: meshseed, 3 torrent(s)', added: 2, failed: 1, waiting: [{}] }] },
      { magnets: [{ file: 'ab.magnet', name: 'x', forS: 12, peersTried: 3 }] },
    ),
    [
      'catalog http://10.0.0.1:6969/catalog.json: ok: meshseed, 3 torrent(s); 2 added, 1 waiting (over max_disk_mb), 1 refused',
      'magnet ab.magnet (x): fetching metadata for 12 s, 3 peer(s) tried',
    ],
  );
  assert.equal(catalogSummary(undefined, 'junk'), []);
  assert.equal(catalogSummary({ catalogs: 'no' }, { magnets: null }), []);
});

test.run();
