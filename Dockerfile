# One image for every part: `fleet api`, `fleet worker`, `fleet reconcile`, `fleet
# scheduler`, `fleet db upgrade`, `fleet sandbox`, and the one-shot `fleet sweep` and
# `fleet nudge`. Benchmarks and tests stay out of it.
# Browser workers use Debian's Chromium (the same package the tests run against), with its
# sandbox on: the image runs as the `fleet` user, so Chromium needs no --no-sandbox. The
# sandbox is built on user namespaces, which Docker's default seccomp profile refuses; the
# compose file and the Kubernetes manifests lift that profile for the browser workers only
# (Chromium's own per-process seccomp filters then apply), and FLEET_CHROMIUM_SANDBOX=false
# is the last resort on a host that forbids unprivileged user namespaces.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The locked dependencies first, checked against their hashes (a layer that changes only
# with the lock), then the project without resolving anything again.
COPY requirements/base.lock ./requirements/
RUN pip install --no-cache-dir --require-hashes -r requirements/base.lock
COPY pyproject.toml README.md ./
COPY core ./core
COPY api ./api
COPY workers ./workers
COPY sandbox ./sandbox
COPY cli ./cli
COPY browser_profiles ./browser_profiles
RUN pip install --no-cache-dir --no-deps .

RUN useradd --create-home fleet && mkdir -p /app/var && chown fleet /app/var
USER fleet

ENV FLEET_CHROMIUM_PATH=/usr/bin/chromium \
    FLEET_PROFILES_DIR=/app/browser_profiles \
    FLEET_VAR_DIR=/app/var \
    PYTHONUNBUFFERED=1

ENTRYPOINT ["fleet"]
CMD ["--help"]
