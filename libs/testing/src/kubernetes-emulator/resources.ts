/** What differs between Secrets and Pods: kinds, defaults, write-only fields and validation. */
import { isDeepStrictEqual } from 'node:util';
import { type Cause, type JsonObject, cause, fail, isObject, meta } from './status.js';

/** The largest decoded sum of a Secret's `data` values the API server accepts. */
export const KUBERNETES_MAX_SECRET_SIZE = 1_048_576;

export type ResourceName = 'secrets' | 'pods';

export interface ResourceDef {
  kind: string;
  listKind: string;
  /** Fills defaults and folds write-only fields (stringData) in; may reject with 400. */
  normalize(obj: JsonObject): void;
  /** Validation causes for a create (old undefined) or an update. */
  validate(obj: JsonObject, old: JsonObject | undefined): Cause[];
  /** What DELETE answers: a Status (Secrets) or the object itself (Pods). */
  deleteReturnsObject: boolean;
}

/** The node the emulator's scheduler binds a Pod to once it leaves Pending. */
export const EMULATED_NODE = 'emulator-node';
/** The Pod default of `spec.terminationGracePeriodSeconds`. */
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;
/** The largest total size of an object's annotations (keys and values). */
export const MAX_ANNOTATIONS_BYTES = 262_144;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const DNS1123_LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end " +
  "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start " +
  "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const NAME_PART_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
  "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is " +
  "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start " +
  "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for " +
  "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** A Namespace's name: a DNS-1123 label of at most 63 characters. */
export function validateNamespaceName(name: string): Cause[] {
  const field = 'metadata.name';
  if (name === '') return [cause('FieldValueRequired', 'Required value: name or generateName is required', field)];
  const causes: Cause[] = [];
  if (name.length > 63) {
    causes.push(cause('FieldValueInvalid', `Invalid value: "${name}": must be no more than 63 characters`, field));
  }
  if (!DNS1123_LABEL.test(name)) {
    causes.push(cause('FieldValueInvalid', `Invalid value: "${name}": ${DNS1123_LABEL_MESSAGE}`, field));
  }
  return causes;
}

/** A label or annotation key: `[prefix/]name`, prefix a DNS-1123 subdomain, name at most 63 characters. */
function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  const errs: string[] = [];
  let name = key;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix === '') errs.push('prefix part must be non-empty');
    else if (prefix.length > 253) errs.push('prefix part must be no more than 253 characters');
    else if (!DNS1123_SUBDOMAIN.test(prefix)) errs.push(`prefix part ${DNS1123_SUBDOMAIN_MESSAGE}`);
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
        "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is " +
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. " +
        "'example.com/MyName')",
    ];
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (name !== '' && !QUALIFIED_NAME_PART.test(name)) errs.push(NAME_PART_MESSAGE);
  return errs;
}

/** Labels (qualified keys, values of at most 63 label characters) and the annotations' total size. */
export function validateMetadata(obj: JsonObject): Cause[] {
  const m = meta(obj);
  const causes: Cause[] = [];
  const labels = isObject(m.labels) ? m.labels : {};
  for (const [k, v] of Object.entries(labels)) {
    for (const e of qualifiedNameErrors(k)) {
      causes.push(cause('FieldValueInvalid', `Invalid value: "${k}": ${e}`, 'metadata.labels'));
    }
    const value = typeof v === 'string' ? v : String(v);
    if (value.length > 63) {
      causes.push(
        cause('FieldValueInvalid', `Invalid value: "${value}": must be no more than 63 characters`, 'metadata.labels'),
      );
    }
    if (!LABEL_VALUE.test(value)) {
      causes.push(cause('FieldValueInvalid', `Invalid value: "${value}": ${LABEL_VALUE_MESSAGE}`, 'metadata.labels'));
    }
  }
  const annotations = isObject(m.annotations) ? m.annotations : {};
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const e of qualifiedNameErrors(k)) {
      causes.push(cause('FieldValueInvalid', `Invalid value: "${k}": ${e}`, 'metadata.annotations'));
    }
    size += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : String(v));
  }
  if (size > MAX_ANNOTATIONS_BYTES) {
    causes.push(
      cause('FieldValueTooLong', `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes`, 'metadata.annotations'),
    );
  }
  return causes;
}

/**
 * How long a deleted Pod stays Terminating: 0 when it was never scheduled
 * or has finished (the API server deletes those at once), else the
 * DeleteOptions' `gracePeriodSeconds`, else its `terminationGracePeriodSeconds`.
 */
export function podGracePeriod(pod: JsonObject, requested: number | undefined): number {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const phase = isObject(pod.status) ? pod.status.phase : undefined;
  if (typeof spec.nodeName !== 'string' || spec.nodeName === '') return 0;
  if (phase === 'Succeeded' || phase === 'Failed') return 0;
  const own = spec.terminationGracePeriodSeconds;
  const grace = requested ?? (typeof own === 'number' ? own : DEFAULT_TERMINATION_GRACE_SECONDS);
  return Math.max(0, Math.floor(grace));
}
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function validateName(obj: JsonObject): Cause[] {
  const name = meta(obj).name;
  const field = 'metadata.name';
  if (typeof name !== 'string' || name === '') {
    return [cause('FieldValueRequired', 'Required value: name or generateName is required', field)];
  }
  const causes: Cause[] = [];
  if (name.length > 253) {
    causes.push(cause('FieldValueInvalid', `Invalid value: "${name}": must be no more than 253 characters`, field));
  }
  if (!DNS1123_SUBDOMAIN.test(name)) {
    const message =
      `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, ` +
      `'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for ` +
      `validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`;
    causes.push(cause('FieldValueInvalid', message, field));
  }
  return causes;
}

function validateOwnerReferences(obj: JsonObject): Cause[] {
  const refs = meta(obj).ownerReferences;
  if (refs === undefined || refs === null) return [];
  if (!Array.isArray(refs))
    return [cause('FieldValueInvalid', 'Invalid value: must be a list', 'metadata.ownerReferences')];
  const causes: Cause[] = [];
  refs.forEach((ref, i) => {
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
      if (!isObject(ref) || typeof ref[f] !== 'string' || ref[f] === '') {
        causes.push(cause('FieldValueRequired', 'Required value', `metadata.ownerReferences[${i}].${f}`));
      }
    }
  });
  return causes;
}

function configKeyErrors(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(key)) {
    errs.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or " +
        "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  }
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

const IMMUTABLE_SET = 'Forbidden: field is immutable when `immutable` is set';

function normalizeSecret(obj: JsonObject): void {
  const bad = (detail: string) =>
    fail(400, 'BadRequest', `Secret in version "v1" cannot be handled as a Secret: ${detail}`);
  if (obj.type === undefined || obj.type === null || obj.type === '') obj.type = 'Opaque';
  if (typeof obj.type !== 'string') throw bad('json: cannot unmarshal into Go struct field Secret.type of type string');
  let data: JsonObject = {};
  if (obj.data !== undefined && obj.data !== null) {
    if (!isObject(obj.data)) throw bad('json: cannot unmarshal into Go struct field Secret.data of type map');
    data = obj.data;
  }
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') throw bad(`json: cannot unmarshal into Go struct field Secret.data of type []uint8`);
    if (!BASE64.test(v)) throw bad(`illegal base64 data at input byte ${firstBadBase64Byte(v)}`);
    data[k] = v;
  }
  if (obj.stringData !== undefined && obj.stringData !== null) {
    if (!isObject(obj.stringData)) {
      throw bad('json: cannot unmarshal into Go struct field Secret.stringData of type map');
    }
    for (const [k, v] of Object.entries(obj.stringData)) {
      if (typeof v !== 'string') {
        throw bad('json: cannot unmarshal into Go struct field Secret.stringData of type string');
      }
      data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
  }
  delete obj.stringData;
  if (Object.keys(data).length === 0) delete obj.data;
  else obj.data = data;
  if (obj.immutable === null) delete obj.immutable;
}

function validateSecret(obj: JsonObject, old: JsonObject | undefined): Cause[] {
  const causes = [...validateName(obj), ...validateMetadata(obj), ...validateOwnerReferences(obj)];
  const data = isObject(obj.data) ? obj.data : {};
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const e of configKeyErrors(k))
      causes.push(cause('FieldValueInvalid', `Invalid value: "${k}": ${e}`, `data[${k}]`));
    total += Buffer.from(String(v), 'base64').length;
  }
  if (total > KUBERNETES_MAX_SECRET_SIZE) {
    causes.push(cause('FieldValueTooLong', `Too long: must have at most ${KUBERNETES_MAX_SECRET_SIZE} bytes`, 'data'));
  }
  if (old === undefined) return causes;
  if (old.type !== obj.type) {
    causes.push(cause('FieldValueInvalid', `Invalid value: "${String(obj.type)}": field is immutable`, 'type'));
  }
  if (old.immutable === true) {
    if (obj.immutable !== true) causes.push(cause('FieldValueForbidden', IMMUTABLE_SET, 'immutable'));
    if (!isDeepStrictEqual(old.data ?? {}, obj.data ?? {})) {
      causes.push(cause('FieldValueForbidden', IMMUTABLE_SET, 'data'));
    }
  }
  return causes;
}

function normalizePod(obj: JsonObject): void {
  if (!isObject(obj.spec)) obj.spec = {};
  const spec = obj.spec as JsonObject;
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) {
    spec.terminationGracePeriodSeconds = DEFAULT_TERMINATION_GRACE_SECONDS;
  }
  const status = isObject(obj.status) ? obj.status : {};
  if (typeof status.phase !== 'string') status.phase = 'Pending';
  obj.status = status;
}

function validatePod(obj: JsonObject): Cause[] {
  const causes = [...validateName(obj), ...validateMetadata(obj), ...validateOwnerReferences(obj)];
  const grace = isObject(obj.spec) ? obj.spec.terminationGracePeriodSeconds : undefined;
  if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0) {
    causes.push(
      cause(
        'FieldValueInvalid',
        `Invalid value: ${String(grace)}: must be greater than or equal to 0`,
        'spec.terminationGracePeriodSeconds',
      ),
    );
  }
  const spec = isObject(obj.spec) ? obj.spec : {};
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push(cause('FieldValueRequired', 'Required value', 'spec.containers'));
    return causes;
  }
  containers.forEach((c, i) => {
    const name = isObject(c) ? c.name : undefined;
    const field = `spec.containers[${i}]`;
    if (typeof name !== 'string' || name === '') {
      causes.push(cause('FieldValueRequired', 'Required value', `${field}.name`));
    } else if (!DNS1123_LABEL.test(name) || name.length > 63) {
      causes.push(
        cause(
          'FieldValueInvalid',
          `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
          `${field}.name`,
        ),
      );
    }
    const image = isObject(c) ? c.image : undefined;
    if (typeof image !== 'string' || image.trim() === '') {
      causes.push(cause('FieldValueRequired', 'Required value', `${field}.image`));
    }
  });
  return causes;
}

export const RESOURCES: Record<ResourceName, ResourceDef> = {
  secrets: {
    kind: 'Secret',
    listKind: 'SecretList',
    deleteReturnsObject: false,
    normalize: normalizeSecret,
    validate: validateSecret,
  },
  pods: { kind: 'Pod', listKind: 'PodList', deleteReturnsObject: true, normalize: normalizePod, validate: validatePod },
};

function firstBadBase64Byte(v: string): number {
  for (let i = 0; i < v.length; i++) {
    if (!/[A-Za-z0-9+/=]/.test(v.charAt(i))) return i;
  }
  return v.length;
}
