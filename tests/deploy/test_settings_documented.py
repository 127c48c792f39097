"""Every setting the code reads is documented in docs/operations.md with its default, and
every TIANSHU_* variable the deployment files set is one the code reads, on the service it
is set for. Failures name the variable and the file to fix."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from code_settings import COMPUTED, ROOT, all_variables, service_settings

DOCS = ROOT / "docs" / "operations.md"
COMPOSE_FILES = [ROOT / "docker-compose.yml", ROOT / "docker-compose.gpu.yml"]
K8S = ROOT / "deploy" / "k8s"
# docs/operations.md has one "### <Title> ..." section per service, each with a settings table.
DOC_SECTIONS = {"Gateway": "gateway", "Inference": "inference", "RAG": "rag", "Batch": "batch"}
_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|")
# Read by clients in the examples, not by a service.
CLIENT_VARIABLES = {"TIANSHU_API_KEY"}
# Read by the repository's own scripts (bootstrap, test runner, local stack), not by a service.
_SCRIPT_READ = re.compile(r"\$\{(TIANSHU_[A-Z0-9_]+)|environ(?:\.get\(|\[)\"(TIANSHU_[A-Z0-9_]+)")


def script_variables() -> set[str]:
    return {name for path in (ROOT / "scripts").iterdir() if path.is_file()
            for match in _SCRIPT_READ.findall(path.read_text()) for name in match if name}
_VARIABLE = re.compile(r"\bTIANSHU_[A-Z0-9_]*[A-Z0-9]\b")


def documented() -> dict[str, dict[str, str]]:
    """{service: {variable: default cell}} from the settings tables of docs/operations.md."""
    tables: dict[str, dict[str, str]] = {service: {} for service in DOC_SECTIONS.values()}
    service = None
    for line in DOCS.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().split(" ")[0]
            service = DOC_SECTIONS.get(title) if line.startswith("### ") else None
        elif service and (row := _ROW.match(line)):
            tables[service][row.group(1)] = row.group(2).strip()
    return tables


def _normalise(cell: str) -> str:
    cell = cell.strip()
    return "" if cell in ("(empty)", "*(empty)*") else cell.strip("`")


def test_every_setting_the_code_reads_is_documented_with_its_default():
    docs = documented()
    problems = []
    for service, settings in service_settings().items():
        for variable, setting in settings.items():
            source = setting.source.relative_to(ROOT)
            if variable not in docs[service]:
                problems.append(f"{variable} (read by {source}) is missing from the {service} table "
                                f"of docs/operations.md")
            elif setting.default is not COMPUTED and _normalise(docs[service][variable]) != setting.default:
                problems.append(f"{variable}: docs/operations.md says default {docs[service][variable]!r}, "
                                f"{source} says {setting.default!r}")
    assert not problems, "\n".join(problems)


def test_every_documented_setting_is_read_by_the_code():
    settings = service_settings()
    stale = [f"{variable} is documented for {service} in docs/operations.md but "
             f"{'no service reads it' if variable not in all_variables() else 'another service reads it'}"
             for service, table in documented().items() for variable in table if variable not in settings[service]]
    assert not stale, "\n".join(stale)


def test_compose_sets_only_settings_of_the_service_it_configures():
    settings = service_settings()
    problems = []
    for path in COMPOSE_FILES:
        for name, service in yaml.safe_load(path.read_text())["services"].items():
            environment = service.get("environment") or {}
            names = environment if isinstance(environment, dict) else [e.split("=", 1)[0] for e in environment]
            for variable in names:
                # The gateway also reads NACOS_*; other containers (Nacos, its seed job) have their own.
                ours = variable.startswith("TIANSHU_") or (name in settings and variable.startswith("NACOS_"))
                if ours and variable not in settings.get(name, {}):
                    owner = _owner(variable)
                    problems.append(f"{path.name}: service {name!r} sets {variable}, which "
                                    + (f"only the {owner} service reads" if owner else "no service reads"))
    assert not problems, "\n".join(problems)


def test_kubernetes_manifests_set_only_settings_of_the_service_they_configure():
    """ConfigMaps are named after their service; containers too (batch-api and batch-worker
    run the batch service's container "batch")."""
    settings = service_settings()
    problems = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            for service, variable in _k8s_settings(doc):
                where = f"{path.relative_to(ROOT)} ({doc['kind']} {doc['metadata']['name']})"
                if service is None:
                    if variable not in all_variables():
                        problems.append(f"{where} sets {variable}, which no service reads")
                elif variable not in settings.get(service, {}):
                    owner = _owner(variable)
                    problems.append(f"{where} sets {variable} for {service}, which "
                                    + (f"only the {owner} service reads" if owner else "no service reads"))
    assert not problems, "\n".join(problems)


def test_no_unknown_tianshu_variable_in_any_deployment_file():
    """Also catches names in comments, Dockerfiles and scripts: a stale name anywhere misleads."""
    known = set(all_variables()) | CLIENT_VARIABLES | script_variables()
    files = COMPOSE_FILES + sorted(ROOT.glob("*/Dockerfile")) + sorted(
        p for p in (ROOT / "deploy").rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".sh", ".json", ".md",
                                                                                ".alloy", ".sql", ".py"))
    unknown = sorted({f"{path.relative_to(ROOT)} mentions {name}, which no service reads"
                      for path in files for name in _VARIABLE.findall(path.read_text()) if name not in known})
    assert not unknown, "\n".join(unknown)


def _owner(variable: str) -> str | None:
    return next((service for service, s in service_settings().items() if variable in s), None)


def _k8s_settings(doc: dict):
    """(service or None, variable) for every environment variable a manifest sets."""
    kind, name = doc.get("kind"), doc["metadata"]["name"]
    if kind == "ConfigMap":
        # Other keys (OTEL_*, read by OpenTelemetry in the images) are not Tianshu settings.
        for variable in doc.get("data") or {}:
            if variable.startswith(("TIANSHU_", "NACOS_")):
                yield name, variable
    elif kind == "Secret":
        for variable in {**(doc.get("stringData") or {}), **(doc.get("data") or {})}:
            yield None, variable
    elif kind in ("Deployment", "StatefulSet"):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for entry in container.get("env") or []:
                yield container["name"], entry["name"]
