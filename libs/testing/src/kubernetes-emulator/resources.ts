/** What differs between Secrets and Pods: kinds, defaults, write-only fields and validation. */
import { isDeepStrictEqual } from 'node:util';
import { type Cause, type JsonObject, fail, isObject, meta } from './status.js';
import { KUBERNETES_MAX_SECRET_SIZE } from './types.js';

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
  if (typeof name !== 'string' || name === '') {
    return [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ];
  }
  const causes: Cause[] = [];
  if (name.length > 253) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": must be no more than 253 characters`,
      field: 'metadata.name',
    });
  }
  if (!DNS1123_SUBDOMAIN.test(name)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message:
        `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, ` +
        `'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for ` +
        `validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      field: 'metadata.name',
    });
  }
  return causes;
}

function validateOwnerReferences(obj: JsonObject): Cause[] {
  const refs = meta(obj).ownerReferences;
  if (refs === undefined || refs === null) return [];
  if (!Array.isArray(refs)) {
    return [
      { reason: 'FieldValueInvalid', message: 'Invalid value: must be a list', field: 'metadata.ownerReferences' },
    ];
  }
  const causes: Cause[] = [];
  refs.forEach((ref, i) => {
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
      if (!isObject(ref) || typeof ref[f] !== 'string' || ref[f] === '') {
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: `metadata.ownerReferences[${i}].${f}`,
        });
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

const secretDef: ResourceDef = {
  kind: 'Secret',
  listKind: 'SecretList',
  deleteReturnsObject: false,
  normalize(obj) {
    const bad = (detail: string) =>
      fail(400, 'BadRequest', `Secret in version "v1" cannot be handled as a Secret: ${detail}`);
    if (obj.type === undefined || obj.type === null || obj.type === '') obj.type = 'Opaque';
    if (typeof obj.type !== 'string')
      throw bad('json: cannot unmarshal into Go struct field Secret.type of type string');
    let data: JsonObject = {};
    if (obj.data !== undefined && obj.data !== null) {
      if (!isObject(obj.data)) throw bad('json: cannot unmarshal into Go struct field Secret.data of type map');
      data = obj.data;
    }
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== 'string') throw bad(`json: cannot unmarshal into Go struct field Secret.data of type []uint8`);
      if (!BASE64.test(v)) {
        const at = firstBadBase64Byte(v);
        throw bad(`illegal base64 data at input byte ${at}`);
      }
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
  },
  validate(obj, old) {
    const causes = [...validateName(obj), ...validateOwnerReferences(obj)];
    const data = isObject(obj.data) ? obj.data : {};
    let total = 0;
    for (const [k, v] of Object.entries(data)) {
      for (const e of configKeyErrors(k)) {
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${k}": ${e}`, field: `data[${k}]` });
      }
      total += Buffer.from(String(v), 'base64').length;
    }
    if (total > KUBERNETES_MAX_SECRET_SIZE) {
      causes.push({
        reason: 'FieldValueTooLong',
        message: `Too long: must have at most ${KUBERNETES_MAX_SECRET_SIZE} bytes`,
        field: 'data',
      });
    }
    if (old !== undefined) {
      if (old.type !== obj.type) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${String(obj.type)}": field is immutable`,
          field: 'type',
        });
      }
      if (old.immutable === true) {
        if (obj.immutable !== true) {
          causes.push({
            reason: 'FieldValueForbidden',
            message: 'Forbidden: field is immutable when `immutable` is set',
            field: 'immutable',
          });
        }
        if (!isDeepStrictEqual(old.data ?? {}, obj.data ?? {})) {
          causes.push({
            reason: 'FieldValueForbidden',
            message: 'Forbidden: field is immutable when `immutable` is set',
            field: 'data',
          });
        }
      }
    }
    return causes;
  },
};

const podDef: ResourceDef = {
  kind: 'Pod',
  listKind: 'PodList',
  deleteReturnsObject: true,
  normalize(obj) {
    if (!isObject(obj.spec)) obj.spec = {};
    const status = isObject(obj.status) ? obj.status : {};
    if (typeof status.phase !== 'string') status.phase = 'Pending';
    obj.status = status;
  },
  validate(obj) {
    const causes = [...validateName(obj), ...validateOwnerReferences(obj)];
    const spec = isObject(obj.spec) ? obj.spec : {};
    const containers = spec.containers;
    if (!Array.isArray(containers) || containers.length === 0) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' });
      return causes;
    }
    containers.forEach((c, i) => {
      const name = isObject(c) ? c.name : undefined;
      if (typeof name !== 'string' || name === '') {
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.containers[${i}].name` });
      } else if (!DNS1123_LABEL.test(name) || name.length > 63) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
          field: `spec.containers[${i}].name`,
        });
      }
      const image = isObject(c) ? c.image : undefined;
      if (typeof image !== 'string' || image.trim() === '') {
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.containers[${i}].image` });
      }
    });
    return causes;
  },
};

export const RESOURCES: Record<ResourceName, ResourceDef> = { secrets: secretDef, pods: podDef };

function firstBadBase64Byte(v: string): number {
  for (let i = 0; i < v.length; i++) {
    if (!/[A-Za-z0-9+/=]/.test(v.charAt(i))) return i;
  }
  return v.length;
}
