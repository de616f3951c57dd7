/** Whether the container-backed variants of the emulator suites (real Vault, k3s) can run. */

/**
 * Why a container-backed suite must be skipped, or undefined when it can run:
 * it needs LATCHKEY_TEST_DOCKER=1 (else `optInHint` is the reason) and a
 * container runtime that answers.
 */
export async function containerSkipReason(optInHint: string): Promise<string | undefined> {
  if (process.env['LATCHKEY_TEST_DOCKER'] !== '1') return optInHint;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return `no container runtime: ${err instanceof Error ? err.message : String(err)}`;
  }
}
