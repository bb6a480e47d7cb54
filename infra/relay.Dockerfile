# The relay as a container: the workspace's TypeScript sources run with tsx, exactly as
# `npm run dev:relay` runs them locally. Built by SST from the repository root (infra/relay.ts).
FROM node:22-slim

WORKDIR /app

# The whole workspace first: npm ci needs every workspace's package.json, and listing them here
# would silently go stale when a package is added.
COPY . .

# No install scripts: the relay needs none (esbuild, which tsx uses, ships its binary as an
# optional dependency), and this npm predates the allowScripts list in package.json.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm cache clean --force

USER node
CMD ["npx", "tsx", "dev/main.ts", "--role", "relay"]
