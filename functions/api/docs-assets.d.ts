// Redoc's standalone bundle, imported as text by functions/api/docs.ts (esbuild's text import).
declare module "redoc/bundles/redoc.standalone.js" {
  const script: string;
  export default script;
}

// The console's script, imported as text by functions/api/console.ts.
declare module "*/console/app.js" {
  const script: string;
  export default script;
}
