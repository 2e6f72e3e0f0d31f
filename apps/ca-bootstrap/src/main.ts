// Entry point of ca-bootstrap. Several replicas start at once, so start-up CPU matters: cache the
// compiled code of our dependencies (the Kubernetes client is large) before loading them.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./run.ts');
