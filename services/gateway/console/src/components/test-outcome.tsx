/**
 * A connection test's outcome: `ok`, or the failure's code and the precise
 * reason the gateway gave. `data-outcome` is "ok" or that code.
 */
export function TestOutcome(props: { ok: boolean; code: string; okText: string; reason: string }) {
  return (
    <span className={props.ok ? 'test-ok' : 'test-failed'} role="status" data-outcome={props.ok ? 'ok' : props.code}>
      {props.ok ? props.okText : `Connection failed (${props.code}): ${props.reason}`}
    </span>
  );
}
