// Free loopback ports for the servers tests start (other test runs share the machine: never a fixed port).
import { createServer } from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago (for programs that cannot listen on port 0 and say which port they got). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
