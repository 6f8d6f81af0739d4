/**
 * mime-types' lookup behind an ES module of ours: content-type.ts imports this on demand. Importing
 * the CommonJS package itself on demand gives only its `default` in the bundle (esbuild does not
 * name a CommonJS module's exports) and the named export under tsx. The build replaces the package
 * with the same lookup over the table mime-types computed at build time (scripts/mime-table.mjs):
 * building that table at load took ~30 ms of every start that uploads.
 */
export { lookup } from 'mime-types';
