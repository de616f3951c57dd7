import { loadConfig, required, z } from '@latchkey/config';
import { serviceConfig } from '@latchkey/service';

const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

const schema = z
  .object({
    ...serviceConfig(7401),
    LATCHKEY_DATABASE_URL: required("LATCHKEY_DATABASE_URL, ras's PostgreSQL connection string"),
    /**
     * Users who are platform admins, comma-separated. No default: the embedded
     * launcher (latchkey up) names its bootstrap user `admin`; anywhere else an
     * operator names them (or admin groups), or ras does not start.
     */
    LATCHKEY_PLATFORM_ADMINS: list.default([]),
    /** The account and signing key ras mints external event subscribers' NATS credentials with (0600). */
    LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE: z.string().optional(),
    /** Groups whose members are platform admins, comma-separated. */
    LATCHKEY_PLATFORM_ADMIN_GROUPS: list.default([]),
    LATCHKEY_REPLICA_ID: z.string().default('ras'),
  })
  .superRefine((c, ctx) => {
    if (c.LATCHKEY_PLATFORM_ADMINS.length === 0 && c.LATCHKEY_PLATFORM_ADMIN_GROUPS.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['LATCHKEY_PLATFORM_ADMINS'],
        message:
          'required: the platform admins, comma-separated user ids (or LATCHKEY_PLATFORM_ADMIN_GROUPS, their groups); there is no default admin outside embedded mode',
      });
    }
  });

export type RasConfig = z.infer<typeof schema>;
export const loadRasConfig = (env?: Record<string, string | undefined>): RasConfig => loadConfig(schema, env);
