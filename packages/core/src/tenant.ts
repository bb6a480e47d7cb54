// Tenants and their API keys. A key is 32 random bytes shown once; only its SHA-256 is stored
// (a slow password hash buys nothing for keys of that entropy) and lookups go by hash.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { apiKeys, type Db, type DbOrTx, tenants } from "@switchyard/db";
import { and, asc, eq, isNull } from "drizzle-orm";
import { notFound, SwitchyardError } from "./errors.ts";
import { iso } from "./job/view.ts";

export const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

function newKey(): string {
  return `sy_${randomBytes(32).toString("base64url")}`;
}

export async function createTenant(db: Db, name: string) {
  const existing = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, name));
  if (existing.length > 0) throw new SwitchyardError("tenant.name_taken", `A tenant named '${name}' already exists`);
  return db.transaction(async (tx) => {
    const [tenant] = await tx.insert(tenants).values({ name }).returning();
    if (!tenant) throw new Error("insert returned no row");
    const key = await insertKey(tx, tenant.id);
    return { id: tenant.id, name: tenant.name, created_at: iso(tenant.createdAt), api_key: key };
  });
}

export async function createKey(db: Db, tenantId: string) {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw notFound("tenant", tenantId);
  return { tenant_id: tenantId, api_key: await insertKey(db, tenantId) };
}

async function insertKey(db: DbOrTx, tenantId: string): Promise<string> {
  const key = newKey();
  await db.insert(apiKeys).values({ tenantId, keyHash: hashKey(key), prefix: key.slice(0, 7) });
  return key;
}

export async function listTenants(db: Db) {
  const rows = await db.select().from(tenants).orderBy(asc(tenants.createdAt));
  return rows.map((t) => ({ id: t.id, name: t.name, created_at: iso(t.createdAt) }));
}

/** Resolves the tenant of an API key; throws 401-class errors. */
export async function authenticate(db: Db, key: string | undefined): Promise<string> {
  if (!key) throw new SwitchyardError("auth.missing_key", "API key is missing");
  const hash = hashKey(key);
  const [row] = await db
    .select({ tenantId: apiKeys.tenantId, keyHash: apiKeys.keyHash })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)));
  if (!row || !timingSafeEqual(Buffer.from(row.keyHash), Buffer.from(hash))) {
    throw new SwitchyardError("auth.invalid_key", "Invalid API Key");
  }
  return row.tenantId;
}

/** Checks the admin key in constant time (hashing first makes the lengths equal). */
export function authenticateAdmin(expected: string | undefined, given: string | undefined): void {
  if (!expected)
    throw new SwitchyardError("auth.admin_required", "Admin routes are disabled: no admin key is configured");
  if (!given) throw new SwitchyardError("auth.missing_key", "Admin key is missing");
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  if (!timingSafeEqual(a, b)) throw new SwitchyardError("auth.invalid_key", "Invalid admin key");
}
