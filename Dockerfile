# One image for every part: `fleet api`, `fleet worker`, `fleet reconcile`, `fleet sandbox`,
# and the cron commands `fleet sweep` and `fleet nudge`.
# Browser workers use Debian's Chromium (the same package the tests run against).
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY api ./api
COPY workers ./workers
COPY sandbox ./sandbox
COPY cli ./cli
COPY bench ./bench
COPY browser_profiles ./browser_profiles
RUN pip install --no-cache-dir .

RUN useradd --create-home fleet && mkdir -p /app/var && chown fleet /app/var
USER fleet

ENV FLEET_CHROMIUM_PATH=/usr/bin/chromium \
    FLEET_PROFILES_DIR=/app/browser_profiles \
    FLEET_VAR_DIR=/app/var \
    PYTHONUNBUFFERED=1

ENTRYPOINT ["fleet"]
CMD ["--help"]
