/**
 * The Content-Type `aws s3 sync` would guess from a file name's extension (mime-types: the
 * mime-db table). Loaded on the first guess: a start that uploads nothing (a download, an idle tick)
 * does not load it at all.
 */
type Lookup = (name: string) => string | false;

let loading: Promise<Lookup> | undefined;

/** The type for `name` (a file name or path), or undefined when the extension is unknown. */
export async function guessContentType(name: string): Promise<string | undefined> {
  loading ??= import('./mime-lookup.js').then(
    (mime) => mime.lookup,
    (err: unknown) => {
      // Not cached: the next upload tries again rather than every one failing from now on.
      loading = undefined;
      throw err;
    },
  );
  return (await loading)(name) || undefined;
}
