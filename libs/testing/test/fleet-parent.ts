// A parent process for the test that kills it: starts a fleet from the options on stdin, prints the
// simulator pids as one JSON line, and waits to be killed.
import { text } from 'node:stream/consumers';
import { startFleet, type FleetOptions } from '../src/index.ts';

const options = JSON.parse(await text(process.stdin)) as FleetOptions;
const fleet = await startFleet(options);
process.stdout.write(JSON.stringify(fleet.pids()) + '\n');
setInterval(() => undefined, 60_000);
