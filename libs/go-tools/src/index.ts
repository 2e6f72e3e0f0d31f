// Public entry of @osm/go-tools: pinned Go programs built once and cached.
export { goToolBinaries, goToolCacheDir, type GoToolSpec } from './go-tools.ts';
