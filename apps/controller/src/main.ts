// Entry point of osm-controller. Replicas restart together after a rollout, so start-up CPU matters:
// cache the compiled code of our dependencies (the Kubernetes client is large) before loading them.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./run.ts');
