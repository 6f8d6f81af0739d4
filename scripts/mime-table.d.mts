import type { Plugin } from 'esbuild';

export declare function mimeTypesTable(): Record<string, string>;
export declare function mimeLookupModule(table?: Readonly<Record<string, string>>): string;
export declare const mimeTablePlugin: Plugin;
