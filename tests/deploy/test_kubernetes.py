"""The Kustomize overlays render, validate against the Kubernetes API schemas (built-in kinds)
and the Prometheus Operator's CRD schema (ServiceMonitor), and hang together: probes and
resources on every container, GPUs on GPU clusters, autoscalers, disruption budgets and
monitors that select what exists."""
from __future__ import annotations

import json

import pytest
import yaml

from code_settings import ROOT, service_settings
from conftest import OVERLAYS, report, run

# The oldest and newest Kubernetes minor versions the manifests are meant for (native gRPC
# probes need 1.24+; autoscaling/v2 1.23+).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
CUSTOM_GROUPS = ("monitoring.coreos.com/",)
WORKLOADS = ("Deployment", "StatefulSet")


def _custom(doc: dict) -> bool:
    return doc["apiVersion"].startswith(CUSTOM_GROUPS)


def _by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_kinds_match_the_kubernetes_schemas(tools, rendered, tmp_path, overlay, version):
    manifests = tmp_path / f"{overlay}.yaml"
    manifests.write_text(yaml.safe_dump_all([d for d in rendered[overlay] if not _custom(d)]))
    result = run([tools["KUBERNETES_VALIDATE"], "--strict", "--quiet", "-k", version, str(manifests)])
    assert result.returncode == 0, report(result)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_their_crd_schemas(tools, rendered, overlay):
    custom = [d for d in rendered[overlay] if _custom(d)]
    assert custom, "expected ServiceMonitors"
    result = run(["node", str(ROOT / "tests/deploy/validate_crds.mjs"), tools["PROMETHEUS_OPERATOR_MODELS"]],
                 stdin=json.dumps(custom))
    assert result.returncode == 0, report(result)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_probes_and_resource_requests(rendered, overlay):
    problems = []
    for doc in rendered[overlay]:
        if doc["kind"] in WORKLOADS:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                where = f"{doc['kind']}/{doc['metadata']['name']} container {container['name']}"
                problems += [f"{where}: no {probe}" for probe in ("livenessProbe", "readinessProbe")
                             if probe not in container]
                if not container.get("resources", {}).get("requests"):
                    problems.append(f"{where}: no resource requests")
    assert not problems, "\n".join(problems)


def test_python_services_are_probed_through_grpc_health_and_the_gateway_through_actuator(rendered):
    for doc in rendered["cpu"]:
        if doc["kind"] in WORKLOADS:
            container = doc["spec"]["template"]["spec"]["containers"][0]
            for probe in ("livenessProbe", "readinessProbe"):
                if doc["metadata"]["name"] == "gateway":
                    assert container[probe]["httpGet"]["path"].startswith("/actuator/health/")
                else:
                    assert container[probe]["grpc"]["port"] == container["ports"][0]["containerPort"]


def test_only_gpu_clusters_request_gpus_for_inference(rendered):
    def gpus(overlay):
        inference = _by_kind(rendered[overlay], "StatefulSet")["inference"]
        return inference["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"].get("nvidia.com/gpu")

    assert gpus("gpu") == "1"
    assert gpus("cpu") is None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_lists_every_inference_pod(rendered, overlay):
    """The gateway balances over the instances it is given; a pod it does not list gets no traffic."""
    inference = _by_kind(rendered[overlay], "StatefulSet")["inference"]
    service = inference["spec"]["serviceName"]
    expected = [f"inference-{i}.{service}:50051" for i in range(inference["spec"]["replicas"])]
    targets = _by_kind(rendered[overlay], "ConfigMap")["gateway"]["data"]["TIANSHU_INFERENCE_TARGETS"]
    assert targets.split(",") == expected


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_chinese_collections_get_an_embedding_model_the_inference_pods_serve(rendered, overlay):
    config = _by_kind(rendered[overlay], "ConfigMap")
    served = config["inference"]["data"].get("TIANSHU_INFERENCE_ZH_EMBED_MODEL_ID",
                                             service_settings()["inference"]["TIANSHU_INFERENCE_ZH_EMBED_MODEL_ID"].default)
    asked = config["rag"]["data"].get("TIANSHU_RAG_CHINESE_EMBEDDING_MODEL",
                                      service_settings()["rag"]["TIANSHU_RAG_CHINESE_EMBEDDING_MODEL"].default)
    assert served and asked == served


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscalers_budgets_and_monitors_select_what_exists(rendered, overlay):
    docs = rendered[overlay]
    workloads = {(d["kind"], d["metadata"]["name"]): d for d in docs if d["kind"] in WORKLOADS}
    services = _by_kind(docs, "Service")
    problems = []
    autoscaled = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in _by_kind(docs, "HorizontalPodAutoscaler").values()}
    if autoscaled != {"gateway", "rag"}:
        problems.append(f"autoscaled: {sorted(autoscaled)}, expected gateway and rag")
    for hpa in _by_kind(docs, "HorizontalPodAutoscaler").values():
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) not in workloads:
            problems.append(f"HPA {hpa['metadata']['name']} scales missing {ref['kind']}/{ref['name']}")
    budgeted = set()
    for pdb in _by_kind(docs, "PodDisruptionBudget").values():
        selected = [name for (_, name), w in workloads.items()
                    if _selects(pdb["spec"]["selector"]["matchLabels"], w["spec"]["template"]["metadata"]["labels"])]
        budgeted.update(selected)
        if not selected:
            problems.append(f"PDB {pdb['metadata']['name']} selects no pods")
    problems += [f"{kind}/{name} has no PodDisruptionBudget" for kind, name in workloads if name not in budgeted]
    monitored = set()
    for monitor in _by_kind(docs, "ServiceMonitor").values():
        selected = [s for s in services.values() if _selects(monitor["spec"]["selector"]["matchLabels"],
                                                            s["metadata"].get("labels", {}))]
        ports = {p["port"] for p in monitor["spec"]["endpoints"]}
        for service in selected:
            monitored.add(service["metadata"]["name"])
            missing = ports - {p["name"] for p in service["spec"]["ports"]}
            if missing:
                problems.append(f"ServiceMonitor {monitor['metadata']['name']}: Service "
                                f"{service['metadata']['name']} has no port {sorted(missing)}")
        if not selected:
            problems.append(f"ServiceMonitor {monitor['metadata']['name']} selects no Service")
    unmonitored = {name for name in services} - monitored
    if unmonitored:
        problems.append(f"Services without a ServiceMonitor: {sorted(unmonitored)}")
    assert not problems, "\n".join(problems)


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())
