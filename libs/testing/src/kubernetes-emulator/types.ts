/** The public shapes of the Kubernetes emulator. */
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubernetesEmulatorOptions {
  /** The bearer token the emulator accepts. Default: a random one. */
  token?: string;
  /**
   * Namespaces that exist from the start. Creating an object in any other
   * namespace answers 404, as a real cluster does; create one with
   * `createNamespace` or POST /api/v1/namespaces.
   */
  namespaces?: string[];
  /**
   * Serve HTTPS with a certificate for 127.0.0.1 from a fresh CA (`caPem`).
   * kubectl and client-go send a bearer token only over TLS. Default: plain HTTP.
   */
  tls?: boolean;
  /** How long after an owner is gone the garbage collector deletes what it owned. Default 50 ms. */
  gcDelayMs?: number;
}

export interface KubernetesRequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The HTTP status answered (0 for an injected connection reset); undefined while in flight. */
  status?: number;
}

export interface KubernetesOwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubernetesObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: KubernetesOwnerReference[];
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  [field: string]: unknown;
}

/** An object as the emulator stores it (and as `secrets()` / `pods()` return copies of it). */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: KubernetesObjectMeta;
  [field: string]: unknown;
}

export interface KubernetesEmulator {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly token: string;
  /** With `tls`: the CA that issued the server's certificate (PEM). */
  readonly caPem: string | undefined;
  /** A client-node KubeConfig pointing at the emulator with the token. */
  kubeConfig(): KubeConfig;
  /** The same as a kubeconfig file's text, for kubectl and other clients (it holds the token). */
  kubeConfigYaml(): string;
  /** Delays every later response by `ms` (0 turns it off). */
  setLatency(ms: number): void;
  /**
   * The next `n` requests are answered with `status` and a matching Status
   * body before any other handling; status 0 resets the connection instead.
   */
  failNext(n: number, status: number): void;
  /** Every request so far, oldest first (copies). Never holds headers or bodies. */
  requests(): KubernetesRequestLogEntry[];
  /** Copies of the Secrets stored in a namespace, by name, with their `data`. */
  secrets(namespace: string): KubernetesObject[];
  /** Copies of the Pods stored in a namespace, by name. */
  pods(namespace: string): KubernetesObject[];
  /**
   * Sets a Pod's `status.phase` (a write: new resourceVersion, MODIFIED
   * event). Past Pending the Pod is bound to a node, so that deleting it is
   * graceful; a Terminating Pod set to Succeeded or Failed (its container
   * stopped) is removed at once.
   */
  setPodPhase(namespace: string, name: string, phase: string): void;
  /** Creates a Namespace (idempotent), as `kubectl create namespace` would. */
  createNamespace(name: string): void;
  /**
   * Appends what the Pod's (first) container wrote to its log, as the
   * kubelet would collect it; followers of the log receive it at once.
   */
  appendPodLog(namespace: string, name: string, text: string): void;
  /** Closes open watches and the server. */
  stop(): Promise<void>;
}
