/** Merge patch (RFC 7386) and JSON patch (RFC 6902) over JSON values. */
import { isDeepStrictEqual } from 'node:util';
import { type Json, type JsonObject, clone, isObject } from './status.js';

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[]): { parent: Json; last: string } {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      const i = Number(t);
      const next = cur[i];
      if (!/^\d+$/.test(t) || next === undefined) throw new Error(`doc is missing path: ${t}`);
      cur = next;
    } else if (isObject(cur)) {
      const next = cur[t];
      if (next === undefined) throw new Error(`doc is missing path: ${t}`);
      cur = next;
    } else throw new Error(`doc is missing path: ${t}`);
  }
  const last = tokens[tokens.length - 1];
  if (last === undefined) throw new Error('the root cannot be the target of this operation');
  return { parent: cur, last };
}

function getAt(doc: Json, path: string): Json {
  let cur: Json = doc;
  for (const t of pointer(path)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (next === undefined) throw new Error(`doc is missing path: ${path}`);
    cur = next;
  }
  return cur;
}

function removeAt(doc: Json, path: string): Json {
  const { parent, last } = parentOf(doc, pointer(path));
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!/^\d+$/.test(last) || i >= parent.length) throw new Error(`doc is missing path: ${path}`);
    return parent.splice(i, 1)[0] as Json;
  }
  if (isObject(parent) && last in parent) {
    const v = parent[last] as Json;
    delete parent[last];
    return v;
  }
  throw new Error(`doc is missing path: ${path}`);
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): void {
  const { parent, last } = parentOf(doc, pointer(path));
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if ((last !== '-' && !/^\d+$/.test(last)) || i > parent.length || (replace && i >= parent.length)) {
      throw new Error(`doc is missing path: ${path}`);
    }
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
    return;
  }
  if (!isObject(parent)) throw new Error(`doc is missing path: ${path}`);
  if (replace && !(last in parent)) throw new Error(`replace operation does not apply: doc is missing key: ${path}`);
  parent[last] = value;
}

export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new Error('a json patch must be a list of operations');
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new Error('each json patch operation needs "op" and "path"');
    }
    const { op, path } = raw;
    const value = raw.value === undefined ? null : clone(raw.value);
    switch (op) {
      case 'add':
        addAt(doc, path, value, false);
        break;
      case 'replace':
        addAt(doc, path, value, true);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'test':
        if (!isDeepStrictEqual(getAt(doc, path), value)) throw new Error(`testing value ${path} failed: test failed`);
        break;
      case 'move':
      case 'copy': {
        if (typeof raw.from !== 'string') throw new Error(`${op} operation needs "from"`);
        const v = op === 'move' ? removeAt(doc, raw.from) : clone(getAt(doc, raw.from));
        addAt(doc, path, v, false);
        break;
      }
      default:
        throw new Error(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}
