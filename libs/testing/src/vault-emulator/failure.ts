/** Vault's failure shape, `{"errors": [...]}`, thrown by the store and the routes and answered by the server. */

export class VaultFailure {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

export const errors = (status: number, ...messages: string[]) => new VaultFailure(status, { errors: messages });

export const POLICY_DENIED = '1 error occurred:\n\t* permission denied\n\n';
export const unsupportedOperation = () => errors(405, '1 error occurred:\n\t* unsupported operation\n\n');
