"""The environment variables the services read, taken from their code: each Python service's
settings class (env prefix + field names) and the gateway's application.yml placeholders.

The deploy tests compare these with docs/operations.md, docker-compose.yml and deploy/k8s,
so a setting added or renamed in the code shows up there as a named failure.
"""
from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON_SETTINGS = {
    "inference": ROOT / "python-inference/src/tianshu_inference/settings.py",
    "rag": ROOT / "python-rag/src/tianshu_rag/settings.py",
    "batch": ROOT / "python-batch/src/tianshu_batch/settings.py",
}
GATEWAY_CONFIG = ROOT / "java-gateway/src/main/resources/application.yml"
# A default that cannot be written down (computed at start-up, or another setting's value).
COMPUTED = None


@dataclass(frozen=True)
class Setting:
    variable: str
    default: str | None  # as documented (true/false, numbers written out); COMPUTED when not literal
    source: Path


def service_settings() -> dict[str, dict[str, Setting]]:
    """{"gateway" | "inference" | "rag" | "batch": {variable: Setting}}"""
    found = {name: _python_settings(path) for name, path in PYTHON_SETTINGS.items()}
    found["gateway"] = _spring_placeholders(GATEWAY_CONFIG)
    return found


def all_variables() -> dict[str, Path]:
    return {s.variable: s.source for settings in service_settings().values() for s in settings.values()}


def _python_settings(path: Path) -> dict[str, Setting]:
    tree = ast.parse(path.read_text(), str(path))
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and _env_prefix(node)]
    if len(classes) != 1:
        raise AssertionError(f"{path}: expected one settings class with an env_prefix, found {len(classes)}")
    settings_class = classes[0]
    prefix = _env_prefix(settings_class)
    settings = {}
    for node in settings_class.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id != "model_config":
            variable = prefix + node.target.id.upper()
            settings[variable] = Setting(variable, _python_default(node.value), path)
    return settings


def _env_prefix(node: ast.ClassDef) -> str | None:
    for statement in node.body:
        if (isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "model_config"
                                                      for t in statement.targets)
                and isinstance(statement.value, ast.Call)):
            for keyword in statement.value.keywords:
                if keyword.arg == "env_prefix":
                    return ast.literal_eval(keyword.value)
    return None


_ARITHMETIC = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub}


def _constant(node: ast.expr):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        return _ARITHMETIC[type(node.op)](_constant(node.left), _constant(node.right))
    raise ValueError(ast.unparse(node))


def _python_default(value: ast.expr | None) -> str | None:
    if value is None:
        return COMPUTED
    if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "Field":
        if not value.args:
            return COMPUTED  # default_factory
        value = value.args[0]
    try:
        constant = _constant(value)
    except ValueError:
        return COMPUTED
    if constant is None:
        return COMPUTED  # unset: the code decides (e.g. by the model it serves), as the docs say
    if isinstance(constant, bool):
        return "true" if constant else "false"
    if isinstance(constant, float) and constant.is_integer():
        return str(int(constant))
    return str(constant)


_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def _spring_placeholders(path: Path) -> dict[str, Setting]:
    """${VAR:default} anywhere in application.yml outside comments; nested placeholders are
    settings too."""
    text = "\n".join("" if line.lstrip().startswith("#") else line for line in path.read_text().splitlines())
    settings = {}
    for match in _PLACEHOLDER.finditer(text):
        variable = match.group(1)
        default = _placeholder_default(text, match.end())
        settings[variable] = Setting(variable, default, path)
    return settings


def _placeholder_default(text: str, position: int) -> str | None:
    """The text between ':' and the matching '}' after a placeholder's name."""
    if text[position] != ":":
        return ""  # no default: unset means empty to Spring's binder here
    depth, start = 1, position + 1
    for index in range(start, len(text)):
        if text.startswith("${", index):
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                default = text[start:index]
                return COMPUTED if "${" in default else default
    raise AssertionError(f"unbalanced placeholder at {position} in {GATEWAY_CONFIG}")
