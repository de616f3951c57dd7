// The secret picker beside every env var, Spark conf and storage credential
// field: a literal, or a reference chosen from the selector ("Use existing
// secret") or made on the spot ("Create new secret", saved to the current
// domain). Only references are kept; a new secret's value is sent once and
// cleared.
import { useRef, useState } from 'react';
import { api } from '../api/latchkey-api.js';
import type { SecretRef, SelectorEntry } from '../api/types.js';
import { ProblemBox } from './problem-box.js';

export type FieldValue = { kind: 'literal'; text: string } | { kind: 'ref'; ref: SecretRef };

export const literal = (text = ''): FieldValue => ({ kind: 'literal', text });

/** A selector entry as people read its source. */
export function sourceLabel(e: Pick<SelectorEntry, 'sourceType' | 'sourceId' | 'integrationName'>): string {
  if (e.sourceType === 'VAULT') return `Vault: ${e.integrationName || e.sourceId}`;
  return e.sourceId === 'global' ? 'global (managed)' : `${e.sourceId} (managed)`;
}

const entryId = (e: SelectorEntry): string => `${e.sourceType}|${e.sourceId}|${e.key}`;

/** A reference's label, naming the Vault integration when the selector knows it. */
export function refLabel(ref: SecretRef, entries: SelectorEntry[]): string {
  const type = ref.source.type === 'KUBERNETES' ? 'MANAGED' : ref.source.type;
  const known = entries.find((e) => e.sourceType === type && e.sourceId === ref.source.id && e.key === ref.key);
  return `${ref.key} · ${sourceLabel(known ?? { sourceType: type, sourceId: ref.source.id })}`;
}

export function SecretPicker(props: {
  label: string;
  value: FieldValue;
  onChange: (v: FieldValue) => void;
  domain: string;
  entries: SelectorEntry[];
  onCreated: () => void;
  refOnly?: boolean;
}) {
  const [menu, setMenu] = useState<'closed' | 'menu' | 'existing' | 'create'>('closed');
  const [choice, setChoice] = useState('');
  const [error, setError] = useState<unknown>();
  const keyRef = useRef<HTMLInputElement>(null);
  const valueRef = useRef<HTMLInputElement>(null);
  const v = props.value;

  const useExisting = () => {
    const e = props.entries.find((x) => entryId(x) === choice);
    if (e === undefined) return;
    props.onChange({ kind: 'ref', ref: { key: e.key, source: { type: e.sourceType, id: e.sourceId } } });
    setMenu('closed');
    setChoice('');
  };

  const createNew = async () => {
    const key = keyRef.current?.value.trim() ?? '';
    const value = valueRef.current?.value ?? '';
    if (valueRef.current) valueRef.current.value = '';
    try {
      await api.putSecret(props.domain, key, value);
      props.onChange({ kind: 'ref', ref: { key, source: { type: 'MANAGED', id: props.domain } } });
      props.onCreated();
      setMenu('closed');
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div className="picker" data-field={props.label}>
      {v.kind === 'ref' ? (
        <span className="ref-chip" data-testid="secret-ref">
          <span className="ref-tag">secret</span> {refLabel(v.ref, props.entries)}
          <button
            type="button"
            className="link"
            aria-label={`Clear the reference of ${props.label}`}
            onClick={() => props.onChange(literal())}
          >
            ×
          </button>
        </span>
      ) : props.refOnly ? (
        <span className="hint">no secret chosen</span>
      ) : (
        <input
          aria-label={`${props.label} value`}
          value={v.text}
          onChange={(e) => props.onChange(literal(e.target.value))}
          placeholder="literal, ${secrets.KEY}, or pick a secret"
        />
      )}
      <button
        type="button"
        className="more"
        aria-label={`More options for ${props.label}`}
        onClick={() => setMenu(menu === 'closed' ? 'menu' : 'closed')}
      >
        ⋮
      </button>
      {menu === 'menu' && (
        <span className="menu" role="menu">
          <button type="button" role="menuitem" onClick={() => setMenu('existing')}>
            Use existing secret
          </button>
          <button type="button" role="menuitem" onClick={() => setMenu('create')}>
            Create new secret
          </button>
        </span>
      )}
      {menu === 'existing' && (
        <span className="menu">
          <select
            aria-label={`Existing secret for ${props.label}`}
            value={choice}
            onChange={(e) => setChoice(e.target.value)}
          >
            <option value="">(choose a secret)</option>
            {props.entries.map((e) => (
              <option key={entryId(e)} value={entryId(e)}>
                {e.key} — {sourceLabel(e)}
              </option>
            ))}
          </select>
          <button type="button" onClick={useExisting} disabled={choice === ''}>
            Use
          </button>
          <button type="button" onClick={() => setMenu('closed')}>
            Cancel
          </button>
        </span>
      )}
      {menu === 'create' && (
        // Not a nested <form>: the editor's form holds this picker.
        <span className="menu" role="group" aria-label={`New secret for ${props.label}`}>
          <input ref={keyRef} aria-label="New secret key" placeholder="secret key" autoComplete="off" />
          <input
            ref={valueRef}
            aria-label="New secret value"
            type="password"
            placeholder="value (never shown again)"
            autoComplete="off"
            spellCheck={false}
          />
          <button type="button" onClick={() => void createNew()}>
            Save to {props.domain}
          </button>
          <button type="button" onClick={() => setMenu('closed')}>
            Cancel
          </button>
          <ProblemBox error={error} />
        </span>
      )}
    </div>
  );
}
