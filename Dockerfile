# One image for every service; the command picks which one runs (docker-compose.yml sets it per service):
#   node gateway/dist/index.js | node subgraphs/instagram/dist/index.js | …/threads/… | …/messaging/…
# Configuration comes from the environment at run time (see .env.example); nothing secret is baked in.

# Node 24, an LTS line, at an exact version: .ci/run reads it from here and runs the test suite on that same Node.
ARG NODE_IMAGE=node:24.22.3-slim

# ---- build: all dependencies, TypeScript → dist/ --------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until a package.json or the lockfile changes.
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/common/package.json packages/common/
COPY gateway/package.json gateway/
COPY subgraphs/instagram/package.json subgraphs/instagram/
COPY subgraphs/threads/package.json subgraphs/threads/
COPY subgraphs/messaging/package.json subgraphs/messaging/
RUN npm ci --no-audit --no-fund
COPY schema schema
COPY packages packages
COPY gateway gateway
COPY subgraphs subgraphs
RUN npm run build

# ---- runtime: production dependencies, compiled JavaScript, SDLs and migrations ---------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/common/package.json packages/common/
COPY gateway/package.json gateway/
COPY subgraphs/instagram/package.json subgraphs/instagram/
COPY subgraphs/threads/package.json subgraphs/threads/
COPY subgraphs/messaging/package.json subgraphs/messaging/
# Workspaces are linked into node_modules/@igt/*; their package.json `exports` send plain Node to dist/*.js.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/packages/common/dist packages/common/dist
COPY --from=build /app/gateway/dist gateway/dist
COPY --from=build /app/subgraphs/instagram/dist subgraphs/instagram/dist
COPY --from=build /app/subgraphs/threads/dist subgraphs/threads/dist
COPY --from=build /app/subgraphs/messaging/dist subgraphs/messaging/dist
# Read at run time: each service's SDL (and the gateway's supergraph), each subgraph's migrations, the scripts and
# styles of the gateway's landing page and explorer (the rest of the explorer comes from npm packages, installed above).
COPY schema schema
COPY gateway/public gateway/public
COPY subgraphs/instagram/drizzle subgraphs/instagram/drizzle
COPY subgraphs/threads/drizzle subgraphs/threads/drizzle
COPY subgraphs/messaging/drizzle subgraphs/messaging/drizzle
# Files stay root-owned and read-only to the service: it writes nothing to disk (logs go to stdout).
USER node
EXPOSE 4000 4001 4002 4003
CMD ["node", "gateway/dist/index.js"]
