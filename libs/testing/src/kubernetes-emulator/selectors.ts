/** Label and field selectors (`?labelSelector=`, `?fieldSelector=`). */
import { type JsonObject, fail, isObject, meta } from './status.js';

export type Selector = (obj: JsonObject) => boolean;

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

export function parseLabelSelector(sel: string | undefined): Selector {
  if (sel === undefined || sel.trim() === '') return () => true;
  const terms = splitTopLevel(sel).map((term): ((labels: Record<string, unknown>) => boolean) => {
    let m = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (m) {
      const [, key = '', op, value = ''] = m;
      return op === '!=' ? (l) => l[key] !== value.trim() : (l) => l[key] === value.trim();
    }
    m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
    if (m) {
      const [, key = '', op, list = ''] = m;
      const values = list.split(',').map((v) => v.trim());
      return op === 'in'
        ? (l) => typeof l[key] === 'string' && values.includes(l[key])
        : (l) => !(typeof l[key] === 'string' && values.includes(l[key]));
    }
    if (term.startsWith('!')) {
      const key = term.slice(1).trim();
      return (l) => !(key in l);
    }
    if (/^[^\s=!(),]+$/.test(term)) return (l) => term in l;
    throw fail(
      400,
      'BadRequest',
      `unable to parse requirement: found '${term}', expected: '=', '!=', '==', 'in', notin'`,
    );
  });
  return (obj) => {
    const labels = meta(obj).labels;
    const l = isObject(labels) ? labels : {};
    return terms.every((t) => t(l));
  };
}

function fieldAt(obj: JsonObject, path: string): unknown {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

export function parseFieldSelector(sel: string | undefined): Selector {
  if (sel === undefined || sel.trim() === '') return () => true;
  const terms = splitTopLevel(sel).map((term): Selector => {
    const m = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw fail(400, 'BadRequest', `invalid selector: '${sel}'; can't understand '${term}'`);
    const [, path = '', op, value = ''] = m;
    return (obj) => {
      const v = fieldAt(obj, path);
      const s = v === undefined || v === null ? '' : String(v);
      return op === '!=' ? s !== value : s === value;
    };
  });
  return (obj) => terms.every((t) => t(obj));
}
