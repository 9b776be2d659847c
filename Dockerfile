# syntax=docker/dockerfile:1
# Rekey's container image: built once, with no secret, and configured at `docker run`.
# The server checks its environment when it starts and exits (code 1, naming the variable) on
# a bad one. Why each step is here: docs/operations-container.md.
#
#   docker build -t rekey .
#   docker run --rm -p 3000:3000 --env-file rekey.env rekey

ARG NODE_IMAGE=node:20-bookworm-slim

# --- Dependencies: every package, dev ones included (the build type-checks) ----------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- Build: no APP_URL, AUTH_SECRET, DATABASE_URL or RESEND_API_KEY, and none needed --------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# NEXT_OUTPUT=standalone makes `next build` also write .next/standalone: server.js and only
# the node_modules files the server uses. Telemetry would try to reach the network.
ENV NEXT_OUTPUT=standalone \
    NEXT_TELEMETRY_DISABLED=1
COPY --from=deps /app/node_modules ./node_modules
COPY . .
RUN node_modules/.bin/next build

# --- Run: the standalone server, as a user who cannot change it ------------------------------
FROM ${NODE_IMAGE} AS run
WORKDIR /app
# HOSTNAME: server.js listens on $HOSTNAME, which Docker sets to the container's id.
# DATA_DIR: only the embedded database and the mail outbox write there, both opt-in in
# production (ALLOW_EMBEDDED_DATABASE=1, MAIL_TRANSPORT=outbox); mount a volume on it then.
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    HOSTNAME=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/.data
# Owned by root and only readable by the app's user. server.js makes /app its working
# directory; db/client.ts reads the migrations from db/migrations there when the server starts
# (file tracing copies them into .next/standalone too; copied explicitly so the image never
# depends on it). Add `COPY --from=build /app/public ./public` if the app gets a public/.
COPY --from=build /app/.next/standalone ./
COPY --from=build /app/.next/static ./.next/static
COPY --from=build /app/db/migrations ./db/migrations
RUN mkdir -p /app/.data && chown node:node /app/.data
# The node user (uid 1000) comes with the official Node images.
USER node
EXPOSE 3000
# `docker stop` sends SIGTERM: Next stops taking requests and the job worker finishes what it
# holds (JOBS_SHUTDOWN_GRACE_MS, 10 s by default: give `docker stop` more than that).
# --heap-growing-percent: the same heap policy as `npm start` (package.json); why, in
# docs/benchmarks.md ("Memory").
CMD ["node", "--heap-growing-percent=30", "server.js"]
