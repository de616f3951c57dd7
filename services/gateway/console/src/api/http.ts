// The one place the console talks HTTP: same-origin JSON calls to the
// gateway, the session cookie sent by the browser, the CSRF token on every
// write, and RFC 9457 problem documents turned into ApiError.

/** One field the gateway refused, by its JSON path. */
export interface ProblemField {
  path: string;
  message: string;
}

/** An application/problem+json answer, with the same stable code as gRPC. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly errors: ProblemField[] = [],
  ) {
    super(detail || title || `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

let csrfToken: string | undefined;

/** The session's CSRF token, sent as x-csrf-token on every write (set once the session is read). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function problemOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as Partial<{
      code: string;
      title: string;
      detail: string;
      errors: ProblemField[];
    }>;
    return new ApiError(
      res.status,
      p.code ?? `http.${res.status}`,
      p.title ?? res.statusText,
      p.detail ?? '',
      Array.isArray(p.errors) ? p.errors : [],
    );
  } catch {
    return new ApiError(res.status, `http.${res.status}`, res.statusText, '');
  }
}

/** Calls the gateway; resolves with the JSON answer (undefined for 204), rejects with ApiError. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (WRITES.has(method) && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw await problemOf(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** `encodeURIComponent` for one path segment. */
export const seg = (s: string): string => encodeURIComponent(s);
