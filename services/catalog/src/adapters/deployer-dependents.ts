import { createClient, unary, type ClientIdentity } from '@latchkey/grpc';
import { DeployerInternalClient } from '@latchkey/proto';
import type { Dependents, LiveDeployments } from '../domain/ports.js';

/** The most ids ListLiveDeployments takes per call. */
const LIVE_CHUNK = 1000;

/** The deployer's reference index and deployments' liveness, over its internal gRPC, authenticated as the catalog. */
export class DeployerDependents implements Dependents, LiveDeployments {
  private readonly client: DeployerInternalClient;

  constructor(address: string, serviceToken: string | ClientIdentity) {
    // 100,000 dependents of one global key are several MB of "domain/name": above gRPC's 4 MB default.
    this.client = createClient(DeployerInternalClient, address, serviceToken, {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  async of(sourceType: 'MANAGED' | 'VAULT', sourceId: string, keys: string[]): Promise<Map<string, string[]>> {
    const res = await unary(this.client.listDependents.bind(this.client), { sourceType, sourceId, keys }, 10_000);
    return new Map(res.keys.map((k) => [k.key, k.workloads]));
  }

  async beginDeletion(
    sourceType: 'MANAGED' | 'VAULT',
    sourceId: string,
    keys: string[],
    force: boolean,
  ): Promise<{ deletionId: string | undefined; dependents: Map<string, string[]> }> {
    const res = await unary(this.client.beginDeletion.bind(this.client), { sourceType, sourceId, keys, force }, 10_000);
    return {
      deletionId: res.deletionId === '' ? undefined : res.deletionId,
      dependents: new Map(res.keys.map((k) => [k.key, k.workloads])),
    };
  }

  async endDeletion(deletionId: string): Promise<void> {
    await unary(this.client.endDeletion.bind(this.client), { deletionId }, 10_000);
  }

  async deployedVaultKeys(): Promise<{ integrationId: string; key: string; version: number }[]> {
    const res = await unary(this.client.listDeployedVaultKeys.bind(this.client), {}, 30_000);
    return res.keys;
  }

  async heldVersions(
    sourceType: 'MANAGED' | 'VAULT',
    sourceId: string,
    key: string,
  ): Promise<{ workload: string; version: number }[]> {
    const res = await unary(this.client.listHeldVersions.bind(this.client), { sourceType, sourceId, key }, 10_000);
    return res.held;
  }

  async live(ids: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += LIVE_CHUNK) {
      const deploymentIds = ids.slice(i, i + LIVE_CHUNK);
      const res = await unary(this.client.listLiveDeployments.bind(this.client), { deploymentIds }, 10_000);
      for (const id of res.liveIds) out.add(id);
    }
    return out;
  }

  close(): void {
    this.client.close();
  }
}
