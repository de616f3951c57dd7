/** Naming rules shared by every service and carried in every event. */

/** A domain (a team's tenant). `global` is reserved for the platform-wide scope. */
export const DOMAIN_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A secret key. */
export const SECRET_KEY = /^[A-Za-z0-9._-]{1,253}$/;
/** The platform-wide scope. */
export const GLOBAL_SCOPE = 'global';
/** A Vault integration's id (the catalog assigns UUIDs); what a VAULT reference's source.id names. */
export const INTEGRATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
