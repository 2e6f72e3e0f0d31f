// Test-only: ca-bootstrap as a real child process (see @osm/testing's ComponentProcess).
import { ComponentProcess, type LogLine } from '@osm/testing';

export class BootstrapProcess extends ComponentProcess {
  constructor(kubeconfigPath: string, args: readonly string[]) {
    super('ca-bootstrap', { kubeconfigPath, args });
  }

  /** Ready (root CA loaded) or failed: whichever comes first. */
  settled(timeoutMs?: number): Promise<LogLine> {
    return this.waitForLog((l) => l.msg === 'root CA ready' || l.msg.startsWith('root CA not loaded'), timeoutMs);
  }
}
