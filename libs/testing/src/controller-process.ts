// Test-only: osm-controller as a real child process (see ComponentProcess, which also reads its ADS
// address from its log).
import { ComponentProcess } from './component-process.ts';

export class ControllerProcess extends ComponentProcess {
  /** Starts `main.ts` with loopback addresses and free ports unless `args` says otherwise. */
  constructor(kubeconfigPath: string, args: readonly string[] = []) {
    super('controller', { kubeconfigPath, args, name: 'osm-controller' });
  }
}
