# syntax=docker/dockerfile:1
# crmbridge daemon: build wheels in one stage, install them into a slim runtime image.
# The base image is pinned to a patch release: bump it on purpose, then run
# `hadolint Dockerfile` and `pip-audit` (docs/dependencies.md).

FROM python:3.11.13-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY src ./src
COPY connectors ./connectors
# requirements.lock pins every dependency to the versions the tests ran with.
RUN pip wheel --no-cache-dir --constraint requirements.lock --wheel-dir /wheels .

FROM python:3.11.13-slim-bookworm
# Two malloc arenas keep the daemon's RSS flat (see crmbridge/daemon/memory.py).
# The daemon listens on 127.0.0.1 unless told otherwise; in a container it must take
# connections from the container network (publish the port on 127.0.0.1 instead).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    CRMBRIDGE__DAEMON__HOST=0.0.0.0 \
    CRMBRIDGE__DAEMON__PORT=8080
RUN useradd --create-home --uid 10001 --user-group crmbridge
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /home/crmbridge
EXPOSE 8080
# Ready = intake can be accepted (see docs/deploy.md, "Probes").
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CRMBRIDGE__DAEMON__PORT', '8080') + '/readyz', timeout=4)"]
ENTRYPOINT ["crmbridge"]
CMD ["run"]
