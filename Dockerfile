# One image for every Node process of the stack (legacy shop, proxy, CDC bridge, services, the CLI);
# docker-compose.yml picks the entry with `command`. TypeScript runs through tsx: no build step.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app

# Dependencies first, so that a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY --chown=root:root . .

# The one place a process may write (DATA_DIR: the proxy's shadow journal); a named volume mounted
# here takes this ownership when docker creates it.
RUN mkdir -p /data && chown node:node /data

# Never run as root: the image's `node` user (uid 1000) owns nothing it could rewrite.
USER node

EXPOSE 8080 8081 8082 8083 8084 8090
CMD ["node", "--import", "tsx", "legacy-stub/main.ts"]
