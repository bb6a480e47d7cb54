// Checks answers and examples against the OpenAPI document's schemas with Ajv (JSON Schema
// 2020-12, the dialect of OpenAPI 3.1), for the unit and integration tests of the document.
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { openApiDocument } from "../../functions/api/_lib/openapi.ts";

export type OpenApiDocument = ReturnType<typeof openApiDocument>;
type Json = Record<string, unknown>;
// Components get absolute ids, so a schema taken out of the document still resolves its $refs.
const BASE = "https://switchyard.invalid/schemas/";

export interface Operation {
  operationId: string;
  parameters: Json[];
  requestBody?: { content: Record<string, { schema: Json; example?: unknown }> };
  responses: Record<string, { headers?: Record<string, Json>; content?: Record<string, Json> }>;
}

export function documentChecker(source: OpenApiDocument = openApiDocument()) {
  const doc = JSON.parse(JSON.stringify(source).replaceAll('"#/components/schemas/', `"${BASE}`)) as OpenApiDocument;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema as Json, `${BASE}${name}`);
  const compiled = new Map<Json, ValidateFunction>();
  const validator = (schema: Json) => {
    let v = compiled.get(schema);
    if (!v) {
      v = ajv.compile(schema);
      compiled.set(schema, v);
    }
    return v;
  };
  const problems = (v: ValidateFunction, value: unknown) =>
    v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);

  const operation = (method: string, path: string): Operation => {
    const op = (doc.paths as Record<string, Record<string, Operation>>)[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`the document has no ${method} ${path}`);
    return op;
  };
  /** A finished event stream (the log stream): each `log` event's data is a LogEntry, `end` says a status. */
  const checkEvents = (body: unknown): string[] => {
    if (typeof body !== "string") return ["an event stream is text"];
    const blocks = body.split("\n\n").filter((b) => b.trim() !== "");
    const field = (block: string, name: string) =>
      block
        .split("\n")
        .find((l) => l.startsWith(`${name}: `))
        ?.slice(name.length + 2);
    const found: string[] = [];
    for (const block of blocks) {
      const event = field(block, "event");
      const data = field(block, "data");
      if (event === "log") found.push(...problems(validator({ $ref: `${BASE}LogEntry` }), JSON.parse(data ?? "null")));
      else if (event === "end")
        found.push(...(typeof JSON.parse(data ?? "{}").status === "string" ? [] : ["end without a status"]));
      else if (!block.startsWith("retry:") && !block.startsWith(":")) found.push(`unexpected event block ${block}`);
    }
    return blocks.some((b) => field(b, "event") === "end") ? found : [...found, "the stream has no end event"];
  };
  return {
    doc,
    operation,
    operations: () =>
      Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
      ),
    /** What is wrong with a JSON value against a schema of the document ([] when nothing). */
    check: (schema: Json, value: unknown) => problems(validator(schema), value),
    /** What is wrong with a JSON answer of an operation; the status must be one it documents. */
    checkAnswer(method: string, path: string, status: number, body: unknown): string[] {
      const response = operation(method, path).responses[String(status)];
      if (response?.content?.["text/event-stream"]) return checkEvents(body);
      const schema = response?.content?.["application/json"]?.schema as Json | undefined;
      if (!schema) return [`${method} ${path} documents no JSON answer with status ${status}`];
      return problems(validator(schema), body);
    },
    /** The error schema alone: answers of routes that do not exist. */
    checkError: (body: unknown) => problems(validator({ $ref: `${BASE}Error` }), body),
  };
}
