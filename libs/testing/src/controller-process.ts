// Test-only: osm-controller as a real child process (see ComponentProcess), with its ADS address read
// from its own log.
import { ComponentProcess } from './component-process.ts';

export class ControllerProcess extends ComponentProcess {
  /** Starts `main.ts` with loopback addresses and free ports unless `args` says otherwise. */
  constructor(kubeconfigPath: string, args: readonly string[] = []) {
    super('controller', { kubeconfigPath, args, name: 'osm-controller' });
  }

  /** `127.0.0.1:<port>` of the ADS server, once it listens (after the caches synced). */
  async adsAddress(): Promise<string> {
    return `127.0.0.1:${String((await this.waitForLog((l) => l.msg === 'ADS server listening'))['port'])}`;
  }
}
