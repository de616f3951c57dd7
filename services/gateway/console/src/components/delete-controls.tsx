import { useState } from 'react';
import { ApiError } from '../api/http.js';
import { ProblemBox } from './problem-box.js';

/**
 * The end of a delete dialog: what the gateway refused, Delete, and Cancel.
 * Once the service refuses the delete as in use (`inUseCode`), Delete becomes
 * "Delete anyway", which waits for a ticked "I understand: `consequence`".
 * `run(force)` deletes; it throws what the gateway answered.
 */
export function DeleteControls(props: {
  inUseCode: string;
  consequence: string;
  run: (force: boolean) => Promise<void>;
  onCancel: () => void;
}) {
  const [error, setError] = useState<unknown>();
  const [inUse, setInUse] = useState(false);
  const [confirmed, setConfirmed] = useState(false);
  const remove = async (force: boolean) => {
    setError(undefined);
    try {
      await props.run(force);
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && e.code === props.inUseCode) setInUse(true);
    }
  };
  return (
    <>
      <ProblemBox error={error} />
      {inUse ? (
        <>
          <label className="check">
            <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />I understand:{' '}
            {props.consequence}
          </label>
          <button type="button" className="danger" disabled={!confirmed} onClick={() => void remove(true)}>
            Delete anyway
          </button>
        </>
      ) : (
        <button type="button" className="danger" onClick={() => void remove(false)}>
          Delete
        </button>
      )}{' '}
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </>
  );
}
