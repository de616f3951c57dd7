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

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
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
  const causes = [...validateName(obj), ...validateOwnerReferences(obj)];
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
  const status = isObject(obj.status) ? obj.status : {};
  if (typeof status.phase !== 'string') status.phase = 'Pending';
  obj.status = status;
}

function validatePod(obj: JsonObject): Cause[] {
  const causes = [...validateName(obj), ...validateOwnerReferences(obj)];
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
