// Entry of a simulator process (started by fleet.ts). Thousands of proxies start at once in several
// processes, so start-up CPU matters: cache the compiled code (the generated Envoy API is large).
import { enableCompileCache } from 'node:module';

enableCompileCache();
const { main } = await import('./simulator.ts');
main();
