# codiusd in a container. Pods are run by the host's Podman: mount its API socket and point
# CODIUS_PODMAN_SOCKET at it, e.g.
#   docker run -v /run/podman/podman.sock:/run/podman.sock -e CODIUS_PODMAN_SOCKET=/run/podman.sock \
#     -e CODIUS_PUBLIC_URI=https://codius.example.com -v codius-data:/var/lib/codius -p 127.0.0.1:3000:3000 codiusd
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY bin ./bin
# prepare builds dist/ (tests and benches compile too; they are dropped below).
COPY test ./test
COPY bench ./bench
RUN npm ci && npm prune --omit=dev && rm -rf dist/test dist/bench

FROM node:24-bookworm-slim
ENV NODE_ENV=production CODIUS_BIND_IP=0.0.0.0 CODIUS_ROOT=/var/lib/codius
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY .env.example LICENSE README.md ./
RUN mkdir -p /var/lib/codius && chmod 0700 /var/lib/codius
VOLUME /var/lib/codius
EXPOSE 3000
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/bin/codiusd"]
