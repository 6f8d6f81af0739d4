// The build's stand-in for the mime-types package: the same `lookup`, with the extension table
// mime-types computes at load (scoring every type of mime-db, ~30 ms of every uploading start)
// computed once here, at build time, by mime-types itself. Only `lookup` is offered: it is all
// src/sync/mime-lookup.ts takes from the package.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The extension → type table of the installed mime-types, as it builds it. */
export function mimeTypesTable() {
  return { ...require('mime-types').types };
}

/** Source of an ES module whose `lookup` answers as mime-types' does, from `table`. */
export function mimeLookupModule(table = mimeTypesTable()) {
  return `import { extname } from 'node:path';
const types = JSON.parse(${JSON.stringify(JSON.stringify(table))});
// As mime-types: the extension of a name, a path, "ext" or ".ext"; false when none is known.
export function lookup(path) {
  if (!path || typeof path !== 'string') return false;
  const extension = extname('x.' + path).toLowerCase().slice(1);
  return (extension !== '' && Object.hasOwn(types, extension) && types[extension]) || false;
}
`;
}

/** esbuild plugin: imports of `mime-types` get the precomputed module. */
export const mimeTablePlugin = {
  name: 'mime-table',
  setup(build) {
    build.onResolve({ filter: /^mime-types$/ }, () => ({ path: 'mime-types', namespace: 'mime-table' }));
    build.onLoad({ filter: /.*/, namespace: 'mime-table' }, () => ({ contents: mimeLookupModule(), loader: 'js' }));
  },
};
