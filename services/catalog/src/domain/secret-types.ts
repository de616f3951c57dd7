/** A domain name, or `global`. */
export type ScopeName = string;

export const GLOBAL = 'global';
export const SECRET_KEY = /^[A-Za-z0-9._-]{1,253}$/;
export const DOMAIN_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface SecretMeta {
  scope: ScopeName;
  key: string;
  source: 'MANAGED';
  version: number;
  description: string;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string;
}

export interface PutResult {
  meta: SecretMeta;
  change: 'created' | 'updated';
}

export interface ValueQuery {
  refId: string;
  key: string;
  scope: ScopeName;
  fallbackToGlobal: boolean;
}

export type ValueAnswer =
  | { refId: string; found: true; scope: ScopeName; version: number; value: Buffer }
  | { refId: string; found: false; code: string; message: string };
