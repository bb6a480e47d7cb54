// Values set per stage with `npx sst secret set <Name> <value>` (see docs/deploy.md).

/** Hatchet client token: the API hands jobs to Hatchet, the relay runs Hatchet's worker side. */
export const hatchetToken = new sst.Secret("HatchetClientToken");
/** `whsec_…`: signs relay → worker deliveries and health calls. */
export const webhookSecret = new sst.Secret("WebhookSigningSecret");
/** Guards /api/admin/** (tenants, keys, workers). */
export const adminKey = new sst.Secret("AdminKey");
