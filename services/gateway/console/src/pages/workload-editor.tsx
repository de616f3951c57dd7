// Create or edit one workload of any seed kind, a secret picker on every
// env var, Spark conf and storage credential field.
import { useState, type FormEvent } from 'react';
import { api } from '../api/latchkey-api.js';
import type { SelectorEntry } from '../api/types.js';
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
      <label>
        Name
        <input
          name="workload-name"
          value={form.name}
          disabled={!creating}
          required
          onChange={(e) => set('name', e.target.value)}
        />
      </label>
      <label>
        Description
        <input
          name="workload-description"
          value={form.description}
          onChange={(e) => set('description', e.target.value)}
        />
      </label>
      <ProblemBox error={selector.error} />
      {hasEnv(form.kind) && (
        <EntryList
          title="Environment variables"
          entries={form.envVars}
          onChange={(e) => set('envVars', e)}
          domain={props.domain}
          selector={entries}
          onCreated={selector.reload}
        />
      )}
      {hasSparkConf(form.kind) && (
        <EntryList
          title="Spark configuration"
          entries={form.sparkConf}
          onChange={(e) => set('sparkConf', e)}
          domain={props.domain}
          selector={entries}
          onCreated={selector.reload}
        />
      )}
      {form.kind === 'STORAGE_CONFIG' && (
        <fieldset>
          <legend>Storage credentials</legend>
          <label>
            Endpoint
            <input name="storage-endpoint" value={form.endpoint} onChange={(e) => set('endpoint', e.target.value)} />
          </label>
          {picker('Access key', 'accessKey')}
          {picker('Storage secret', 'storageSecret', true)}
          <label>
            Secret key (legacy literal; the storage secret wins when both are set)
            <input
              name="storage-secret-key"
              value={form.secretKey}
              onChange={(e) => set('secretKey', e.target.value)}
            />
          </label>
        </fieldset>
      )}
      <label>
        Command (one argument per line)
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
      <ProblemBox error={error} />
      <button type="submit">{creating ? 'Create' : 'Save'}</button>{' '}
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}
