# API Pool Gateway: docker-compose up -d (see README.md, "Docker").

# ---- build: install everything, compile TypeScript, then keep only the runtime dependencies ----
FROM node:20-bookworm-slim AS build

# better-sqlite3 compiles its native module when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
# `npm ci` runs the package's `prepare` script, which builds src/ into dist/ and the admin UI
# into web/dist/.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM node:20-bookworm-slim

# HOST=0.0.0.0: inside the container the gateway listens on every interface, so that a published
# port reaches it; which host addresses see it is decided by `docker run -p` / the compose file's
# `ports` (docker-compose.yml publishes on 127.0.0.1 only). Security settings (ADMIN_PASSWORD,
# SECRET_KEY, ALLOWED_HOSTS, TRUST_PROXY) are not set here: pass them at run time.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    API_PORT=8899 \
    DATA_DIR=/data

WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist

# /data holds the SQLite database and, when SECRET_KEY is unset, secret.key (the key that
# encrypts the stored provider keys): a backup needs both. To keep the key apart from the
# database, set SECRET_KEY instead.
RUN mkdir -p /data && chown node:node /data
VOLUME /data

USER node
EXPOSE 8899

# Liveness (/healthz: 200 while the process runs, also while it drains on `docker stop`). Asks for
# 127.0.0.1, which the Host check (ALLOWED_HOSTS) always lets through.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.API_PORT || 8899) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

CMD ["node", "dist/main.js"]
