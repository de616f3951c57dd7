export { startTestNats, startTestNatsCluster } from './test-nats.js';
export type { StartTestNatsOptions, TestNats, TestNatsCluster } from './test-nats.js';
export { createTestDatabase, startTestPostgres } from './test-postgres.js';
export type { TestPostgres } from './test-postgres.js';
export { waitFor } from './wait-for.js';
export type { WaitForOptions } from './wait-for.js';
export { tempDir } from './temp-dir.js';
export { packagesLoadedBy } from './loaded-packages.js';
export type { TempDir } from './temp-dir.js';
export { startVaultEmulator, startVaultContainer, vaultContainerAvailability } from './vault-emulator.js';
export type {
  AddAppRoleOptions,
  AddTokenOptions,
  NamespaceOption,
  RequestLogEntry,
  VaultEmulator,
  VaultEmulatorOptions,
  VaultTestServer,
} from './vault-emulator.js';
export { startKubernetesEmulator, startTestK3s, k3sSkipReason } from './kubernetes-emulator.js';
export type {
  KubernetesEmulator,
  KubernetesEmulatorOptions,
  KubernetesObject,
  KubernetesObjectMeta,
  KubernetesOwnerReference,
  KubernetesRequestLogEntry,
  TestK3s,
} from './kubernetes-emulator.js';
export { ALLOW, deny, FakeAuthorizer } from './fake-authorizer.js';
export type { FakeDecide } from './fake-authorizer.js';
export { freshDatabase } from './fresh-database.js';
export type { FreshDatabase, FreshDatabaseOptions } from './fresh-database.js';
export { startTestBus, usePostgres } from './file-fixtures.js';
export {
  acquireTestPostgres,
  SHARED_POSTGRES_ENV,
  sharedTestPostgres,
  startSharedTestPostgres,
} from './shared-postgres.js';
export type { TestBus } from './file-fixtures.js';
export { startOidcEmulator } from './oidc/oidc-emulator.js';
export type { OidcEmulator, OidcEmulatorOptions, OidcTokenRequest, OidcUser } from './oidc/oidc-emulator.js';
export { startOtlpReceiver } from './otlp-receiver.js';
export type { OtlpReceiver, ReceivedSpan } from './otlp-receiver.js';
export { packageFromDescriptors, reflectionClient } from './reflection-client.js';
export type { ReflectionClient } from './reflection-client.js';
export { startS3Emulator } from './s3-emulator/server.js';
export type { S3BucketOptions, S3Emulator, S3EmulatorOptions, S3RequestLogEntry } from './s3-emulator/server.js';
