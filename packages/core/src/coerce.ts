// legacy-use's own frontend sends every scalar job parameter as a string (form fields), and its
// pydantic models accepted "500" for an int in lax mode. This does the same, narrowly: a string that
// is exactly a number, an integer or a boolean becomes one where the job type's JSON Schema asks for
// that type, and nothing else changes. Ajv's coerceTypes is not used because it coerces far more
// (numbers to strings, null to "" or 0, single values into arrays).

type Schema = Record<string, unknown>;

const INTEGER = /^-?(0|[1-9]\d*)$/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** The types a schema allows, its `anyOf`/`oneOf` branches included. */
function typesOf(schema: Schema): string[] {
  const own = typeof schema.type === "string" ? [schema.type] : Array.isArray(schema.type) ? schema.type : [];
  const branches = [schema.anyOf, schema.oneOf].flatMap((b) => (Array.isArray(b) ? b : []));
  return [...own, ...branches.flatMap((b) => (isObject(b) ? typesOf(b) : []))].filter(
    (t): t is string => typeof t === "string",
  );
}

function coerceScalar(schema: Schema, value: string): unknown {
  const types = typesOf(schema);
  // A string is what the schema wants: nothing to do.
  if (types.includes("string") || types.length === 0) return value;
  if (types.includes("integer") && INTEGER.test(value)) return Number(value);
  if (types.includes("number") && NUMBER.test(value)) return Number(value);
  if (types.includes("boolean") && (value === "true" || value === "false")) return value === "true";
  return value;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `value` with exact numeric and boolean strings turned into numbers and booleans where `schema`
 * (a JSON Schema object) asks for them, following `properties`, `additionalProperties`, `items`
 * and `prefixItems`. Anything the schema does not describe is left as it is; the result is then
 * validated as usual.
 */
export function coerceLegacyScalars(schema: unknown, value: unknown): unknown {
  if (!isObject(schema)) return value;
  if (typeof value === "string") return coerceScalar(schema, value);
  if (Array.isArray(value)) {
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    return value.map((item, i) => coerceLegacyScalars(prefix[i] ?? schema.items, item));
  }
  if (isObject(value)) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        coerceLegacyScalars(Object.hasOwn(properties, key) ? properties[key] : schema.additionalProperties, item),
      ]),
    );
  }
  return value;
}
