# The relay as a container (relay mode): its bundled main (scripts/bundle.ts), with the
# production npm packages it imports at run time (Hatchet's SDK and gRPC cannot be bundled).
# Built by SST from the repository root (infra/relay.ts).
FROM node:22-slim AS build
WORKDIR /app
# The whole workspace: npm ci needs every workspace's package.json, and listing them here would
# silently go stale when a package is added.
COPY . .
# No install scripts: the build needs none (esbuild ships its binary as an optional dependency).
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && node --import tsx scripts/bundle.ts relay /app/dist/relay.mjs \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/relay.mjs ./relay.mjs
USER node
CMD ["node", "relay.mjs"]
