// The osm command: install and manage the osm-ts control plane (OSM's cmd/cli commands and messages).
// Every error is one line on stderr and an exit code (2: a wrong command line or values, nothing done).
import pkg from '../package.json' with { type: 'json' };
import { CliError, exitCode } from './errors.ts';
import { install, installUsage } from './install.ts';
import { processIo, type Io } from './io.ts';
import { namespace, namespaceUsage } from './namespace.ts';
import { proxy, proxyUsage } from './proxy.ts';
import { uninstall, uninstallUsage } from './uninstall.ts';
import { version, versionUsage } from './version.ts';

const commands: Record<string, { readonly run: (argv: readonly string[], io: Io) => Promise<void>; readonly usage: string; readonly short: string }> = {
  install: { run: install, usage: installUsage, short: 'install the control plane' },
  uninstall: { run: uninstall, usage: uninstallUsage, short: 'uninstall a mesh (osm uninstall mesh)' },
  namespace: { run: namespace, usage: namespaceUsage, short: 'add, remove or list the namespaces of a mesh' },
  proxy: { run: proxy, usage: proxyUsage, short: "read a sidecar's configuration from the control plane" },
  version: { run: version, usage: versionUsage, short: 'print the CLI and mesh versions' },
};

const usage = `osm ${pkg.version}: install and manage the osm-ts control plane (an Open Service Mesh successor).

Usage:
  osm COMMAND [flags]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(11)}${c.short}`)
  .join('\n')}

The cluster comes from KUBECONFIG (or ~/.kube/config, or the pod's service account).
Run 'osm COMMAND --help' for a command's flags.
`;

async function main(argv: readonly string[], io: Io): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return io.out(usage);
  if (name === '--version') return io.out(`CLI Version: ${pkg.version}`);
  const command = commands[name];
  if (!command) throw new CliError('usage', `unknown command ${JSON.stringify(name)}: allowed commands are ${Object.keys(commands).join(', ')}. Run 'osm --help' for usage`);
  await command.run(rest, io);
}

try {
  await main(process.argv.slice(2), processIo);
} catch (err) {
  const error = err instanceof CliError ? err : new CliError('kube', err instanceof Error ? err.message.split('\n')[0] ?? String(err) : String(err), { cause: err });
  process.stderr.write(`Error: ${error.message}\n`);
  process.exitCode = exitCode(error);
}
