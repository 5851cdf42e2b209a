// deadline: 10s
/** Which of two connections to one peer is closed: the rule both sides apply the same way. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { duplicateToClose, type PeerLink } from '../../src/seeder/duplicate-peer';

// meshseed peer ids start with `-MS` (2d4d53)
const MS = '2d4d53';
const link = (outgoing: boolean, port: number, peerIdHex = `${MS}bb`, address = '10.0.0.2'): PeerLink => ({ address, peerIdHex, outgoing, port });
const ours = { port: 6881, peerIdHex: `${MS}aa` };

test('table: same direction, one each way by port, equal ports by peer id, not a duplicate', () => {
  const rows: [string, PeerLink, PeerLink, typeof ours, 'old' | 'new' | 'none'][] = [
    ['both incoming: the newer goes', link(false, 50000), link(false, 50001), ours, 'new'],
    ['both outgoing: the newer goes', link(true, 6882), link(true, 6882), ours, 'new'],
    ['our port lower: we keep our outgoing (old), the incoming goes', link(true, 6882), link(false, 50000), ours, 'new'],
    ['our port lower: we keep our outgoing (new)', link(false, 50000), link(true, 6882), ours, 'old'],
    ['their port lower: they keep theirs (our incoming)', link(true, 6880), link(false, 50000), ours, 'old'],
    ['their port lower, our outgoing is the new one: it goes', link(false, 50000), link(true, 6880), ours, 'new'],
    ['equal ports, our id lower: we keep our outgoing', link(true, 6881), link(false, 50000), ours, 'new'],
    ['equal ports, their id lower: our outgoing goes', link(true, 6881), link(false, 50000), { port: 6881, peerIdHex: `${MS}cc` }, 'old'],
    ['another peer id (two clients behind one address): both stay', link(true, 6882, `${MS}cc`), link(false, 50000), ours, 'none'],
    ['another address: both stay', link(true, 6882, `${MS}bb`, '10.0.0.3'), link(false, 50000), ours, 'none'],
    ['one each way with another client (libtorrent, equal ports): both stay, it decides', link(true, 6881, '2d4c54'), link(false, 50000, '2d4c54'), ours, 'none'],
    ['one each way with another client, ports differ: both stay', link(false, 50000, '2d4c54'), link(true, 6882, '2d4c54'), ours, 'none'],
    ['another client dialling twice: the newer goes', link(false, 50000, '2d4c54'), link(false, 50001, '2d4c54'), ours, 'new'],
  ];
  for (const [what, old, fresh, me, want] of rows) {
    const got = duplicateToClose([old], fresh, me);
    assert.is(got === undefined ? 'none' : got === old ? 'old' : 'new', want, what);
  }
});

test('both sides close the same TCP connection, whatever the ports and ids', () => {
  for (let i = 0; i < 500; i++) {
    const portA = 6881 + Math.floor(Math.random() * 3);
    const portB = 6881 + Math.floor(Math.random() * 3);
    const [idA, idB] = Math.random() < 0.5 ? [`${MS}11`, `${MS}22`] : [`${MS}22`, `${MS}11`];
    // connection X: A dialled B; connection Y: B dialled A. Each side sees them in either order.
    const aSeesX = { address: 'B', peerIdHex: idB, outgoing: true, port: portB, conn: 'X' };
    const aSeesY = { address: 'B', peerIdHex: idB, outgoing: false, port: 40000, conn: 'Y' };
    const bSeesX = { address: 'A', peerIdHex: idA, outgoing: false, port: 40001, conn: 'X' };
    const bSeesY = { address: 'A', peerIdHex: idA, outgoing: true, port: portA, conn: 'Y' };
    const [a1, a2] = Math.random() < 0.5 ? [aSeesX, aSeesY] : [aSeesY, aSeesX];
    const [b1, b2] = Math.random() < 0.5 ? [bSeesX, bSeesY] : [bSeesY, bSeesX];
    const closedByA = duplicateToClose([a1], a2, { port: portA, peerIdHex: idA })!.conn;
    const closedByB = duplicateToClose([b1], b2, { port: portB, peerIdHex: idB })!.conn;
    assert.is(closedByA, closedByB, `ports ${portA}/${portB}, ids ${idA}/${idB}`);
  }
});

test.run();
