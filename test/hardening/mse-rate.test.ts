// deadline: 30s
/**
 * Issue 13, item 5: MSE handshakes cost ~1.2 ms of CPU each (two modular exponentiations),
 * so they are rate-limited per address: a burst of MSE_BURST, then MSE_PER_SECOND. Another
 * address, or a plain handshake, is not affected.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { encode } from '../../src/codec/bencode';
import { MseInitiator } from '../../src/codec/mse';
import { parseMetainfo } from '../../src/codec/metainfo';
import { defaultSettings, type Settings } from '../../src/config/settings';
import { MSE_BURST } from '../../src/seeder/peer-admission';
import { Seeder } from '../../src/seeder/seeder';
import { systemClock } from '../../src/util/clock';
import { createLogger } from '../../src/util/log';
import { deadline, tempDir, waitFor } from '../helpers';
import { RawPeer } from '../seeder/raw-peer';

/** Sends an MSE step 1 from `localAddress`; resolves true when the seeder answers with its key. */
function mseHello(port: number, infoHash: Uint8Array, localAddress: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress }, () => s.write(new MseInitiator(infoHash).hello));
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
      if (got >= 96) {
        s.destroy();
        resolve(true);
      }
    });
    s.on('error', () => {});
    s.on('close', () => resolve(got >= 96));
  });
}

test(
  'the MSE handshakes of one address beyond the burst are refused; another address and plain handshakes still work',
  deadline(25000, async () => {
    const tmp = tempDir('meshseed-mse-rate-');
    for (const d of ['torrents', 'data', 'state']) mkdirSync(join(tmp.path, d));
    const settings: Settings = {
      ...defaultSettings(),
      'main.state_dir': join(tmp.path, 'state'),
      'seeder.torrent_dir': join(tmp.path, 'torrents'),
      'seeder.data_dir': join(tmp.path, 'data'),
    };
    const data = randomBytes(16384);
    const bytes = encode({ info: { name: 'f.bin', 'piece length': 16384, length: data.length, pieces: createHash('sha1').update(data).digest() } });
    const meta = parseMetainfo(bytes);
    writeFileSync(join(tmp.path, 'data', 'f.bin'), data);
    writeFileSync(join(tmp.path, 'torrents', 'f.torrent'), bytes);
    const logs: string[] = [];
    const seeder = new Seeder({ clock: systemClock, log: createLogger('debug', (l) => logs.push(l)), ports: [0], host: '127.0.0.1' }, settings);
    await seeder.start();
    try {
      await waitFor('the torrent to be seeded', 10000, () => seeder.status().torrents[0]?.state === 'seeding');
      const port = seeder.listenPort()!;
      const answered: boolean[] = [];
      for (let i = 0; i < MSE_BURST + 4; i++) answered.push(await mseHello(port, meta.infoHash, '127.0.2.1'));
      const ok = answered.filter(Boolean).length;
      console.log(`MSE from one address: ${ok} of ${answered.length} answered`);
      // the burst, and maybe one or two refilled while the loop ran (2 a second)
      assert.ok(ok >= MSE_BURST && ok < answered.length, answered.join(' '));
      assert.equal(answered.slice(0, MSE_BURST), Array(MSE_BURST).fill(true));
      assert.ok(logs.some((l) => /MSE handshakes from this address too often/.test(l)));
      assert.is(await mseHello(port, meta.infoHash, '127.0.2.2'), true, 'another address');
      const plain = await RawPeer.connect(port, meta.pieceCount);
      plain.hello(meta.infoHash);
      await plain.waitMessage('haveAll');
      plain.close();
    } finally {
      await seeder.close();
      tmp.remove();
    }
  }),
);

test.run();
