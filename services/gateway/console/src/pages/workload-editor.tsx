// Create or edit one workload of any seed kind, a secret picker on every
// env var, Spark conf and storage credential field.
import { useState, type FormEvent } from 'react';
import { api } from '../api/latchkey-api.js';
import type { SelectorEntry } from '../api/types.js';
import { FormEnd, TextField } from '../components/form-parts.js';
import { ProblemBox } from '../components/problem-box.js';
import { literal, SecretPicker, type FieldValue } from '../components/secret-picker.js';
import { useLoad } from '../components/use-load.js';
import {
  emptyForm,
  hasEnv,
  hasSparkConf,
  KIND_LABELS,
  KINDS,
  payloadOf,
  type Entry,
  type WorkloadForm,
} from './workload-form.js';

/** A storage config's plain text settings, in the order the editor shows them. */
const STORAGE_TEXT_FIELDS = [
  ['endpoint', 'Endpoint'],
  ['region', 'Region (default us-east-1)'],
  ['bucket', 'Bucket'],
] as const;

/** The name/value lists a kind may have, in the order the editor shows them. */
const ENTRY_LISTS = [
  { field: 'envVars', title: 'Environment variables', shown: hasEnv },
  { field: 'sparkConf', title: 'Spark configuration', shown: hasSparkConf },
] as const;

function EntryList(props: {
  title: string;
  entries: Entry[];
  onChange: (entries: Entry[]) => void;
  domain: string;
  selector: SelectorEntry[];
  onCreated: () => void;
}) {
  const set = (i: number, e: Entry) => props.onChange(props.entries.map((x, j) => (j === i ? e : x)));
  return (
    <fieldset>
      <legend>{props.title}</legend>
      {props.entries.map((e, i) => (
        <div className="entry" key={i}>
          <input
            aria-label={`${props.title} name ${i + 1}`}
            value={e.name}
            placeholder="NAME"
            onChange={(ev) => set(i, { ...e, name: ev.target.value })}
          />
          <SecretPicker
            label={e.name || `${props.title} ${i + 1}`}
            value={e.value}
            onChange={(value) => set(i, { ...e, value })}
            domain={props.domain}
            entries={props.selector}
            onCreated={props.onCreated}
          />
          <button
            type="button"
            className="link"
            aria-label={`Remove ${e.name || `${props.title} ${i + 1}`}`}
            onClick={() => props.onChange(props.entries.filter((_, j) => j !== i))}
          >
            remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => props.onChange([...props.entries, { name: '', value: literal() }])}>
        + Add {props.title === 'Environment variables' ? 'variable' : 'setting'}
      </button>
    </fieldset>
  );
}

export function WorkloadEditor(props: {
  domain: string;
  initial: WorkloadForm | undefined;
  onDone: (text: string) => void;
  onCancel: () => void;
}) {
  const creating = props.initial === undefined;
  const [form, setForm] = useState<WorkloadForm>(props.initial ?? emptyForm('COMPUTE'));
  const [error, setError] = useState<unknown>();
  const selector = useLoad(() => api.selector(props.domain), [props.domain]);
  const entries = selector.data?.entries ?? [];
  const set = <K extends keyof WorkloadForm>(k: K, v: WorkloadForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const picker = (label: string, k: 'accessKey' | 'storageSecret', refOnly = false) => (
    <label>
      {label}
      <SecretPicker
        label={label}
        value={form[k]}
        onChange={(v: FieldValue) => set(k, v)}
        domain={props.domain}
        entries={entries}
        onCreated={selector.reload}
        refOnly={refOnly}
      />
    </label>
  );

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    try {
      const saved = await api.saveWorkload(form.kind, props.domain, payloadOf(form), creating);
      const warnings = saved?.warnings ?? [];
      props.onDone(
        `Workload ${form.name} ${creating ? 'created' : 'saved'}.${warnings.length > 0 ? ` ${warnings.join(' ')}` : ''}`,
      );
    } catch (e) {
      setError(e);
    }
  };

  return (
    <form className="card editor" onSubmit={(ev) => void submit(ev)} aria-label="Workload editor">
      <h3>{creating ? 'New workload' : `Edit ${form.name}`}</h3>
      <label>
        Kind
        <select
          name="workload-kind"
          value={form.kind}
          disabled={!creating}
          onChange={(e) => set('kind', e.target.value)}
        >
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </select>
      </label>
      <TextField
        label="Name"
        name="workload-name"
        value={form.name}
        disabled={!creating}
        required
        onChange={(v) => set('name', v)}
      />
      <TextField
        label="Description"
        name="workload-description"
        value={form.description}
        onChange={(v) => set('description', v)}
      />
      <ProblemBox error={selector.error} />
      {ENTRY_LISTS.filter((l) => l.shown(form.kind)).map((l) => (
        <EntryList
          key={l.field}
          title={l.title}
          entries={form[l.field]}
          onChange={(e) => set(l.field, e)}
          domain={props.domain}
          selector={entries}
          onCreated={selector.reload}
        />
      ))}
      {form.kind === 'STORAGE_CONFIG' && (
        <fieldset>
          <legend>Storage credentials</legend>
          {STORAGE_TEXT_FIELDS.map(([field, label]) => (
            <TextField
              key={field}
              label={label}
              name={`storage-${field}`}
              value={form[field]}
              onChange={(v) => set(field, v)}
            />
          ))}
          <label className="check">
            <input
              type="checkbox"
              name="storage-path-style"
              checked={form.pathStyle}
              onChange={(e) => set('pathStyle', e.target.checked)}
            />
            Path-style addressing
          </label>
          {picker('Access key', 'accessKey')}
          {picker('Storage secret', 'storageSecret', true)}
          <TextField
            label="Secret key (legacy literal; the storage secret wins when both are set)"
            name="storage-secret-key"
            value={form.secretKey}
            onChange={(v) => set('secretKey', v)}
          />
        </fieldset>
      )}
      <label>
        Command (one argument per line{form.kind === 'STORAGE_CONFIG' ? '; a storage config needs none' : ''})
        <textarea
          name="workload-command"
          rows={3}
          value={form.command}
          onChange={(e) => set('command', e.target.value)}
        />
      </label>
      <label>
        Redeploy on rotation
        <select
          name="workload-redeploy"
          value={form.redeployMode}
          onChange={(e) => set('redeployMode', e.target.value === 'auto' ? 'auto' : 'manual')}
        >
          <option value="manual">manual (mark stale only)</option>
          <option value="auto">auto</option>
        </select>
      </label>
      <FormEnd error={error} submit={creating ? 'Create' : 'Save'} onCancel={props.onCancel} />
    </form>
  );
}
