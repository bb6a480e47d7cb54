// Redoc's standalone bundle, imported as text by functions/api/docs.ts (esbuild's text import).
declare module "redoc/bundles/redoc.standalone.js" {
  const script: string;
  export default script;
}
