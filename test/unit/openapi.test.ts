// The OpenAPI document: valid OpenAPI 3.1 (by @readme/openapi-parser, which validates against the
// specification's own schema), one operation per route with what a generator needs, and examples
// that match the schemas they illustrate.
import { validate } from "@readme/openapi-parser";
import { ErrorCodes } from "@switchyard/core";
import { describe, expect, it } from "vitest";
import { openApiDocument, operationKeys } from "../../functions/api/_lib/openapi.ts";
import { API_ERROR_CODES } from "../../functions/api/_lib/schemas.ts";
import { handler as openApiHandler } from "../../functions/api/openapi.ts";
import { apiRoutes, routeKey } from "../../infra/routes.ts";
import { documentChecker } from "./openapi-ajv.ts";

const d = documentChecker();
const { doc } = d;
const op = (method: string, path: string) => d.operation(method, path);
/** The codes an operation documents for a status. */
const codes = (method: string, path: string, status: number): string[] => {
  const schema = op(method, path).responses[String(status)]?.content?.["application/json"]?.schema as
    | { allOf: [unknown, { properties: { code: { enum: string[] } } }] }
    | undefined;
  return schema?.allOf[1].properties.code.enum ?? [];
};
const J = "/api/targets/{target_id}/jobs/{job_id}";

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1", async () => {
    const result = await validate(openApiDocument() as never);
    expect(result).toMatchObject({ valid: true, specification: "OpenAPI" });
    expect(result.valid ? result.warnings : result.errors).toEqual([]);
    expect(doc.openapi).toBe("3.1.0");
  });

  it("is what GET /api/openapi.json serves", async () => {
    const event = { headers: {}, requestContext: { http: { method: "GET" } }, rawPath: "/api/openapi.json" };
    const res = (await openApiHandler(event as never, {} as never)) as { statusCode: number; body: string };
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual(openApiDocument());
  });

  it("has one operation per route of the table, and none other", () => {
    expect([...operationKeys()].sort()).toEqual(apiRoutes.map(routeKey).sort());
    expect(d.operations()).toHaveLength(apiRoutes.length);
  });

  it("gives every operation a unique operationId, a summary and a tag", () => {
    const ids = d.operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { op: o } of d.operations()) {
      expect(o.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      expect(o).toMatchObject({ summary: expect.any(String), tags: [expect.any(String)] });
    }
    const tags = (doc.tags as { name: string }[]).map((t) => t.name);
    for (const { op: o } of d.operations()) expect(tags).toContain((o as unknown as { tags: string[] }).tags[0]);
  });

  it("answers 201 for creates of targets, tenants, keys and workers, and 200 for a job create (legacy-use)", () => {
    const success = (method: string, path: string) =>
      Object.keys(op(method, path).responses).filter((s) => s.startsWith("2"));
    for (const path of [
      "/api/targets/",
      "/api/admin/tenants/",
      "/api/admin/tenants/{tenant_id}/keys/",
      "/api/admin/workers/",
    ]) {
      expect(success("POST", path), path).toEqual(["201"]);
    }
    expect(success("POST", "/api/targets/{target_id}/jobs/")).toEqual(["200"]);
    for (const { method, path, op: o } of d.operations()) {
      expect(
        Object.keys(o.responses).filter((s) => s.startsWith("2")),
        `${method} ${path}`,
      ).toHaveLength(1);
    }
  });

  it("names a schema for every answer: no route answers an empty application/json", () => {
    for (const { method, path, op: o } of d.operations()) {
      for (const [status, response] of Object.entries(o.responses)) {
        for (const media of Object.values(response.content ?? {})) {
          expect(media.schema, `${method} ${path} ${status}`).toBeDefined();
        }
      }
    }
    expect(op("GET", `${J}/logs/`).responses["200"]?.content?.["application/json"]?.schema).toEqual({
      type: "array",
      items: { $ref: "https://switchyard.invalid/schemas/LogEntry" },
    });
  });

  it("declares the security of each kind of route", () => {
    const security = (method: string, path: string) => (op(method, path) as unknown as { security: unknown }).security;
    for (const r of apiRoutes) {
      const want = { tenant: [{ apiKey: [] }, { apiKeyQuery: [] }], admin: [{ adminKey: [] }], none: [] }[r.auth];
      expect(security(r.method, r.path), routeKey(r)).toEqual(want);
    }
    expect(doc.components.securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: "apiKey", in: "header", name: "X-API-Key" }),
      apiKeyQuery: expect.objectContaining({ type: "apiKey", in: "query", name: "api_key" }),
      adminKey: expect.objectContaining({ type: "apiKey", in: "header", name: "X-Admin-Key" }),
    });
  });

  it("documents the errors each route can give", () => {
    // Every route: no such route (a wrong slash, an older API), and a bug.
    const pages = ["/api/docs", "/api/console"];
    for (const { method, path } of d.operations().filter(({ path }) => !pages.includes(path))) {
      expect(codes(method, path, 404), `${method} ${path}`).toContain("route.not_found");
      expect(codes(method, path, 500), `${method} ${path}`).toEqual(["internal"]);
    }
    const create = ["POST", "/api/targets/{target_id}/jobs/"] as const;
    expect(codes(...create, 400)).toEqual(["request.malformed_json", "job.unknown_type", "job.invalid_parameters"]);
    expect(codes(...create, 401)).toEqual(["auth.missing_key", "auth.invalid_key"]);
    expect(codes(...create, 404)).toEqual(["route.not_found", "target.not_found"]);
    expect(codes(...create, 409)).toEqual(["target.archived"]);
    expect(codes(...create, 413)).toEqual(["request.too_large"]);
    expect(codes(...create, 415)).toEqual(["request.unsupported_media_type"]);
    expect(codes(...create, 422)).toEqual(["request.invalid", "idempotency.key_reused"]);
    expect(codes(...create, 503)).toEqual(["database.unavailable"]);
    expect(codes("POST", "/api/jobs/queue/resync", 503)).toEqual(["database.unavailable", "orchestrator.unavailable"]);
    expect(codes("DELETE", "/api/admin/workers/{worker_id}", 503)).toContain("orchestrator.unavailable");
    expect(codes("GET", "/api/admin/tenants/", 401)).toEqual([
      "auth.missing_key",
      "auth.invalid_key",
      "auth.admin_required",
    ]);
    expect(codes("POST", `${J}/cancel/`, 409)).toEqual(["job.illegal_transition"]);
    expect(codes("DELETE", "/api/targets/{target_id}", 409)).toEqual(["target.busy"]);
    // The contract needs no key and no database.
    expect(codes("GET", "/api/openapi.json", 401)).toEqual([]);
    expect(codes("GET", "/api/openapi.json", 503)).toEqual([]);
    // A 503 says when to try again.
    for (const { method, path, op: o } of d.operations()) {
      const outage = o.responses["503"];
      if (outage) expect(outage.headers?.["Retry-After"], `${method} ${path}`).toBeDefined();
    }
  });

  it("knows every error code the API answers", () => {
    expect(API_ERROR_CODES).toEqual([...ErrorCodes, "database.unavailable", "orchestrator.unavailable", "internal"]);
    const error = doc.components.schemas.Error as unknown as {
      properties: { code: { enum: string[] } };
      required: string[];
    };
    expect(error.properties.code.enum).toEqual([...API_ERROR_CODES]);
    expect(error.required).toEqual(["detail", "code"]);
  });

  it("documents the Idempotency-Key of a job create and the Idempotent-Replayed of its answer", () => {
    const create = op("POST", "/api/targets/{target_id}/jobs/");
    expect(create.parameters).toContainEqual(
      expect.objectContaining({ name: "Idempotency-Key", in: "header", required: false }),
    );
    expect(create.responses["200"]?.headers?.["Idempotent-Replayed"]).toMatchObject({
      schema: { type: "string", enum: ["true"] },
    });
    expect(op("GET", "/api/jobs/").responses["200"]?.headers?.["X-Total-Count"]).toBeDefined();
  });

  it("takes its request schemas from the handlers' zod schemas", () => {
    const body = op("POST", "/api/targets/{target_id}/jobs/").requestBody?.content["application/json"]?.schema;
    expect(body).toMatchObject({
      type: "object",
      properties: { api_name: { type: "string", minLength: 1, maxLength: 200 } },
      required: ["api_name"],
    });
    expect(op("GET", "/api/jobs/").parameters).toContainEqual(
      expect.objectContaining({
        name: "limit",
        in: "query",
        required: false,
        schema: expect.objectContaining({ type: "integer", minimum: 1, maximum: 1000, default: 10 }),
      }),
    );
    expect(op("GET", J).parameters).toEqual([
      expect.objectContaining({
        name: "target_id",
        in: "path",
        required: true,
        schema: { type: "string", format: "uuid" },
      }),
      expect.objectContaining({
        name: "job_id",
        in: "path",
        required: true,
        schema: { type: "string", format: "uuid" },
      }),
    ]);
  });

  it("has examples that match their schemas: answers, errors and request bodies", () => {
    let checked = 0;
    for (const { method, path, op: o } of d.operations()) {
      for (const [status, response] of Object.entries(o.responses)) {
        const media = response.content?.["application/json"] as
          | { schema: Record<string, unknown>; example?: unknown; examples?: Record<string, { value: unknown }> }
          | undefined;
        if (!media) continue;
        const examples = [
          ...(media.example === undefined ? [] : [media.example]),
          ...Object.values(media.examples ?? {}).map((e) => e.value),
        ];
        expect(examples.length, `${method} ${path} ${status} has an example`).toBeGreaterThan(0);
        for (const example of examples) {
          expect(d.check(media.schema, example), `${method} ${path} ${status}: ${JSON.stringify(example)}`).toEqual([]);
          checked++;
        }
      }
      const request = o.requestBody?.content["application/json"];
      if (request) {
        expect(request.example, `${method} ${path} request example`).toBeDefined();
        expect(d.check(request.schema, request.example), `${method} ${path} request`).toEqual([]);
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it("takes its request.invalid examples from what the route's schemas refuse", () => {
    const example = (method: string, path: string) => {
      const media = op(method, path).responses["422"]?.content?.["application/json"] as
        | { examples: Record<string, { value: unknown }> }
        | undefined;
      return media?.examples["request.invalid"]?.value;
    };
    expect(example("GET", `${J}/logs/`)).toEqual({
      detail: "path.target_id: target_id must be a UUID",
      code: "request.invalid",
      errors: [
        { loc: ["path", "target_id"], msg: "target_id must be a UUID" },
        { loc: ["path", "job_id"], msg: "job_id must be a UUID" },
      ],
    });
    expect(example("POST", "/api/targets/")).toMatchObject({ detail: expect.stringMatching(/^body\.name: /) });
  });
});
