/** Where and why a text is not valid JSON (RFC 8259). */
export interface JsonErrorPosition {
  /** 0-based character offset. */
  position: number;
  /** 1-based. */
  line: number;
  column: number;
  reason: string;
}

class JsonScanError extends Error {
  constructor(
    readonly position: number,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * Finds the first syntax error in `text`, or undefined when it is valid JSON.
 * Written out rather than taken from JSON.parse's message, which in Node 20
 * often has no position and quotes part of the input.
 */
export function findJsonError(text: string): JsonErrorPosition | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const fail = (reason: string): never => {
    throw new JsonScanError(
      i,
      i >= text.length && reason.includes('found end of input') ? 'unexpected end of input' : reason,
    );
  };
  const describe = (): string => (i >= text.length ? 'end of input' : `character ${JSON.stringify(text[i])}`);
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe()}`);
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character in string (escape it)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail('invalid escape in string');
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (m === null || m[0] === '' || m[0] === '-') fail('invalid number');
    i += m?.[0].length ?? 0;
  };
  /** After an opening bracket: nothing, or items separated by commas, up to `close`. */
  const items = (close: '}' | ']', item: () => void, after: string): void => {
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      item();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        return;
      }
      fail(`expected ',' or '${close}' after ${after}, found ${describe()}`);
    }
  };
  const property = (): void => {
    ws();
    if (text[i] !== '"') fail(`expected a property name in double quotes, found ${describe()}`);
    string();
    ws();
    if (text[i] !== ':') fail(`expected ':' after the property name, found ${describe()}`);
    i++;
    value();
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') items('}', property, 'a property value');
    else if (c === '[') items(']', value, 'an array element');
    else if (c === '"') string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else fail(`expected a value, found ${describe()}`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describe()} after the end of the JSON value`);
    return undefined;
  } catch (err) {
    if (!(err instanceof JsonScanError)) throw err;
    const before = text.slice(0, err.position);
    const lines = before.split('\n');
    return {
      position: err.position,
      line: lines.length,
      column: (lines[lines.length - 1]?.length ?? 0) + 1,
      reason: err.message,
    };
  }
}
