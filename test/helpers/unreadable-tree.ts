/**
 * The real LocalTree, except that the scan cannot read one path: a file it cannot stat (EACCES on
 * lstat, EIO on a network disk), or a folder it cannot list, whose files it then does not see.
 * (Tests run as root here, where chmod does not stop a read.)
 */
import { LocalTree, type ScanResult } from '../../src/local/tree.js';

export class UnreadableToScan extends LocalTree {
  unreadable: { path: string; folder: boolean } | null = null;

  override async scan(): Promise<ScanResult> {
    const result = await super.scan();
    if (this.unreadable === null) return result;
    const { path, folder } = this.unreadable;
    for (const found of [...result.entries.keys()]) {
      if (found === path || (folder && found.startsWith(`${path}/`))) result.entries.delete(found);
    }
    const reason = folder ? 'unreadable folder (EACCES)' : 'unreadable (EACCES)';
    return { entries: result.entries, skipped: [...result.skipped, { path, kind: 'unreadable', reason, folder }] };
  }
}
