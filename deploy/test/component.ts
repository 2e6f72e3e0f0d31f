// Test-only: one of our apps as a real child process; the harness is @osm/testing's ComponentProcess,
// kept under this name and signature for the monitoring test.
import { ComponentProcess, type AppName } from '@osm/testing';

export type { AppName };

export class Component extends ComponentProcess {
  constructor(app: AppName, args: readonly string[], env: Readonly<Record<string, string>>, name: string = app) {
    super(app, { args, env, name });
  }
}
