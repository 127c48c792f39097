"""Container health check of the Python services: one grpc.health.v1 Check on loopback.

Usage: python grpc_health_check.py SERVICE   (inference, rag or batch)
The port is the one the service itself listens on: read from its settings class, so the
environment variable and its default are never written down twice. Exits 0 only when the
server answers SERVING, so a service still loading its model or migrating its database
(NOT_SERVING) is not healthy yet. grpc_health_probe is not available from the package
registries this project builds from; grpcio already is in every image.
"""
import importlib
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic_settings import BaseSettings


def service_port(service: str) -> int:
    module = importlib.import_module(f"tianshu_{service}.settings")
    settings = next(value for value in vars(module).values()
                    if isinstance(value, type) and issubclass(value, BaseSettings) and value is not BaseSettings)
    return settings().port


def main() -> int:
    target = f"127.0.0.1:{service_port(sys.argv[1])}"
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
        except grpc.RpcError as error:
            print(f"{target}: {error.code().name}", file=sys.stderr)
            return 1
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        print(f"{target}: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
