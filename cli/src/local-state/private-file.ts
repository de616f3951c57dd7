import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { CliError } from '../output/cli-errors.js';

const currentUid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/**
 * Reads a file the CLI takes orders or a token from (connection.json,
 * identity.json) only when it is a regular file owned by the user running the
 * CLI with no permission for group or others (0600): anything else may have
 * been prepared by someone else, e.g. in a directory the user merely runs the
 * CLI from. The checks are made on the opened file, so a swap between check and
 * read cannot slip another file in. Undefined when the file does not exist.
 */
export async function readPrivateFile(
  file: string,
  what: string,
  howToFix: string,
): Promise<{ text: string } | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw untrusted(file, what, 'it is a symbolic link', howToFix);
    throw new CliError(`cannot read ${what} ${file} (${code ?? (err as Error).message})`, {
      code: 'cli.file_unreadable',
    });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw untrusted(file, what, 'it is not a regular file', howToFix);
    const uid = currentUid();
    if (uid !== undefined && st.uid !== uid) {
      throw untrusted(file, what, `it is owned by uid ${st.uid}, not by you (uid ${uid})`, howToFix);
    }
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw untrusted(file, what, `its mode is ${mode.toString(8).padStart(4, '0')}, not 0600`, howToFix);
    }
    return { text: await handle.readFile('utf8') };
  } finally {
    await handle.close();
  }
}

function untrusted(file: string, what: string, why: string, howToFix: string): CliError {
  return new CliError(
    `refusing ${what} ${file}: ${why}; the CLI uses it only when it is yours with mode 0600, since a file someone else can write could send your token and values to their server or make you act as them. ${howToFix}`,
    { code: 'cli.file_untrusted' },
  );
}
