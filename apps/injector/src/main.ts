// Entry point of the injector. Replicas start together and admissions wait on start-up, so cache the
// compiled code of our dependencies (the Kubernetes client is large) before loading them.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./run.ts');
