#!/usr/bin/env node
// Entry point of the osm command. Each command is a new process that loads the Kubernetes client:
// cache the compiled code (in the temporary folder) before loading it.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./cli.ts');
