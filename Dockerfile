# syntax=docker/dockerfile:1
# crmbridge daemon: build a wheel in one stage, install it into a slim runtime image.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY connectors ./connectors
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# Two malloc arenas keep the daemon's RSS flat (see crmbridge/daemon/memory.py).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2
RUN useradd --create-home --uid 10001 crmbridge
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER crmbridge
WORKDIR /home/crmbridge
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
ENTRYPOINT ["crmbridge"]
CMD ["run"]
