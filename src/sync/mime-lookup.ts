/**
 * mime-types' lookup behind an ES module of ours: content-type.ts imports this on demand. Importing
 * the CommonJS package itself on demand gives only its `default` in the bundle (esbuild does not
 * name a CommonJS module's exports) and the named export under tsx.
 */
export { lookup } from 'mime-types';
