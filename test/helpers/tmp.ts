/** Temporary folders that are removed when the test process exits, even after a failure. */
import { mkdtemp } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh empty folder, removed when the test process exits. */
export async function tempDir(label = 'tmp'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `s3sync2-${label}-`));
  made.push(dir);
  return dir;
}
