import { generateKek, readKekRing, rewrapDek, writeKekRing, type Kek } from '@latchkey/crypto';
import { LatchkeyError } from '@latchkey/errors';

/**
 * The key-encryption keys, from the KEK file shared by the catalog's
 * replicas (the data folder in embedded mode). A rotation adds a key and
 * makes it current, re-wraps every data key, then retires the old keys from
 * the file: from then on they decrypt nothing anywhere.
 */
export class KekRing {
  private constructor(
    private readonly path: string,
    private cur: Kek,
    private keys: Map<string, Kek>,
  ) {}

  static async load(path: string): Promise<KekRing> {
    const ring = await readKekRing(path);
    return new KekRing(path, ring.current, ring.keys);
  }

  current(): Kek {
    return this.cur;
  }

  has(id: string): boolean {
    return this.keys.has(id);
  }

  all(): ReadonlyMap<string, Kek> {
    return this.keys;
  }

  async reload(): Promise<void> {
    const ring = await readKekRing(this.path);
    this.cur = ring.current;
    this.keys = ring.keys;
  }

  rewrap(fromId: string, wrappedDek: Buffer, to: Kek): Buffer {
    const from = this.keys.get(fromId);
    if (!from) {
      throw new LatchkeyError('crypto.kek_unknown', `a data key is wrapped by ${fromId}, which is not in the key ring`);
    }
    return rewrapDek(from, wrappedDek, to);
  }

  /** Adds a fresh key and makes it current (old keys still unwrap). */
  async addCurrent(): Promise<Kek> {
    await this.reload();
    const next = generateKek();
    await writeKekRing(this.path, { current: next, keys: [...this.keys.values(), next] });
    await this.reload();
    return next;
  }

  /** Drops every key but the current one and those in `keep`; returns the retired ids. */
  async retireAllBut(keep: Iterable<string>): Promise<string[]> {
    await this.reload();
    const kept = new Set([this.cur.id, ...keep]);
    const retired = [...this.keys.keys()].filter((id) => !kept.has(id));
    if (retired.length === 0) return [];
    await writeKekRing(this.path, { current: this.cur, keys: [...this.keys.values()].filter((k) => kept.has(k.id)) });
    await this.reload();
    return retired;
  }
}
