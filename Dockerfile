# botsweep: the crawler, scorer and report in one image.
#   docker build -t botsweep .
#   docker run --rm -v botsweep-data:/data -e X_BEARER_TOKEN botsweep seed @someone --label bot
#   docker run -d -v botsweep-data:/data -e X_BEARER_TOKEN botsweep          # the daemon
FROM python:3.11-slim

# LightGBM's wheels link against OpenMP.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY botsweep ./botsweep
RUN pip install '.[postgres]'
COPY config.yaml /etc/botsweep/config.yaml

RUN useradd --create-home --uid 10001 botsweep \
    && mkdir -p /data \
    && chown botsweep:botsweep /data
USER botsweep
WORKDIR /data
VOLUME ["/data"]

# The SQLite database and reports live in the volume; point BOTSWEEP_DATABASE__URL at
# PostgreSQL to share one frontier between several containers (docs/deploy.md). These
# are set here because config.yaml's relative paths would be beside it, in /etc/botsweep.
ENV BOTSWEEP_CONFIG=/etc/botsweep/config.yaml \
    BOTSWEEP_DATABASE__URL=sqlite:////data/botsweep.db \
    BOTSWEEP_REPORT__OUT=/data/botsweep-report.html

# Unhealthy when the last crawl tick is older than schedule.stale_after_s (or failed).
HEALTHCHECK --interval=60s --timeout=30s --start-period=120s --retries=3 \
    CMD ["botsweep", "status", "--check"]

ENTRYPOINT ["botsweep"]
CMD ["daemon"]
