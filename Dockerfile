# API Pool Gateway: docker compose up -d (see README.md, "Docker").
#
# Stages, so that a change to the sources does not install the dependencies again:
#   deps       every dependency, from package.json and package-lock.json alone (the native build of
#              better-sqlite3 happens here)
#   build      deps + the sources: TypeScript into dist/, the admin UI into web/dist/
#   prod-deps  deps without the development dependencies and without build leftovers
#   (runtime)  node_modules from prod-deps, dist/ and web/dist/ from build; nothing else
# A change under src/ or web/ reuses the cached deps and prod-deps layers: only `build` runs again,
# and the runtime image's node_modules layer stays the same (pulls and pushes skip it).

# The current Node.js LTS line (package.json "engines": ^20.19.0 || >=22.12.0).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: dependencies only ----
FROM ${NODE_IMAGE} AS deps

# better-sqlite3 compiles its native module when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` script is the build, which needs the sources (copied
# in the next stage); the two dependencies with install scripts are then built by `npm rebuild`.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 esbuild

# ---- build: compile the server and the admin UI ----
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build

# ---- prod-deps: runtime dependencies, without build leftovers ----
FROM deps AS prod-deps
# - better-sqlite3: only its compiled module is loaded (build/Release/better_sqlite3.node); the
#   compiler's objects, the SQLite sources (deps/) and the addon's C++ sources (src/) are not.
# - js-tiktoken: src/protocol/tokens.ts loads `js-tiktoken/lite` and `js-tiktoken/ranks/o200k_base`
#   (require: the .cjs file) only; the full bundles (index.*, every encoding inlined) and the other
#   encodings' ranks are unused. The runtime stage checks that both still load.
RUN npm prune --omit=dev --no-audit --no-fund \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src binding.gyp \
 && mkdir -p build/Release && mv /tmp/better_sqlite3.node build/Release/ \
 && cd ../js-tiktoken/dist \
 && rm -f index.js index.cjs index.d.ts \
 && find ranks -type f ! -name 'o200k_base.cjs' ! -name 'o200k_base.d.ts' -delete

# ---- runtime ----
FROM ${NODE_IMAGE}

# HOST=0.0.0.0: inside the container the gateway listens on every interface, so that a published
# port reaches it; which host addresses see it is decided by `docker run -p` / the compose file's
# `ports` (docker-compose.yml publishes on 127.0.0.1 only). Security settings (ADMIN_PASSWORD,
# SECRET_KEY, ALLOWED_HOSTS, TRUST_PROXY) are not set here: pass them at run time.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    API_PORT=8899 \
    DATA_DIR=/data

WORKDIR /app
# Least often changed first: the dependencies' layer is reused as long as package*.json are.
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist

# A check of what prod-deps removed: the native SQLite module opens a database, and the tokenizer
# builds from the files left, and the shipped price table (dist/telemetry/prices.json, emitted by tsc beside the
# module that imports it) loads. /data holds the SQLite database and, when SECRET_KEY is unset,
# secret.key (the key that encrypts the stored provider keys): a backup needs both. To keep the key
# apart from the database, set SECRET_KEY instead.
RUN node -e "const D = require('better-sqlite3'); new D(':memory:').prepare('select 1').get();" \
 && node --input-type=module -e "const t = await import('/app/dist/protocol/tokens.js'); t.preloadTokenizer();" \
 && node --input-type=module -e "const p = await import('/app/dist/telemetry/prices.js'); if (!p.SHIPPED_PRICES.prices.length) process.exit(1);" \
 && mkdir -p /data && chown node:node /data
VOLUME /data

USER node
EXPOSE 8899

# Liveness (/healthz: 200 while the process runs, also while it drains on `docker stop`). Asks for
# 127.0.0.1, which the Host check (ALLOWED_HOSTS) always lets through.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.API_PORT || 8899) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

CMD ["node", "dist/main.js"]
