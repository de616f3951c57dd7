import { ApiError } from '../api/http.js';

/** Shows what the gateway refused and why: its stable code, its detail, each field by JSON path. */
export function ProblemBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  if (error instanceof ApiError) {
    return (
      <div className="problem" role="alert" data-code={error.code}>
        <strong>{error.title || 'Refused'}</strong> <code className="code">{error.code}</code>
        {error.detail !== '' && <p>{error.detail}</p>}
        {error.errors.length > 0 && (
          <ul>
            {error.errors.map((f) => (
              <li key={`${f.path}:${f.message}`}>
                <code>{f.path}</code>: {f.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    );
  }
  return (
    <div className="problem" role="alert">
      <strong>Error</strong> <p>{error instanceof Error ? error.message : String(error)}</p>
    </div>
  );
}
