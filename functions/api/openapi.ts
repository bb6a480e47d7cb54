import { route } from "./_lib/http.ts";
import { openApiDocument } from "./_lib/openapi.ts";

let doc: object | undefined;

export const handler = route({ auth: "none" }, async () => {
  doc ??= openApiDocument();
  return doc;
});
