"""The evaluation sets: documents to ingest and queries with the ids of the documents that
answer them.

- `shipped`: python-rag/eval (36 short documents written for this service, 40 queries).
- `insuranceqa-en`, `insuranceqa-zh`: InsuranceQA (Feng et al., "Applying Deep Learning to
  Answer Selection", 2015), as the `insuranceqa-data` package (1.2, GPL-3.0) ships it: 27,413
  answers written by insurance professionals to questions of real users, each answer in
  English and in a Chinese translation, and test questions with the ids of their answers.
  Questions and relevance labels are the data's own. A set takes the first `questions` test
  questions, the answers they name, and then the answer pool in id order as distractors
  until it holds `answers` documents (embedding all 27,413 on two CPU cores takes hours).
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tianshu.rag.v1 import rag_pb2 as pb

SHIPPED = Path(__file__).resolve().parents[3] / "eval"
CONTENT_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain",
                 ".html": "text/html", ".htm": "text/html", ".pdf": "application/pdf"}
INSURANCEQA = ("insuranceqa-en", "insuranceqa-zh")
NAMES = ("shipped", *INSURANCEQA)


@dataclass(frozen=True)
class EvalSet:
    name: str
    documents: list[pb.Document]
    # {"query": text, "relevant": [document ids]}
    queries: list[dict]


def corpus_documents(folder: Path) -> list[pb.Document]:
    """Every supported file of the folder; its name without extension is the document id."""
    documents = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in CONTENT_TYPES:
            document = pb.Document(document_id=path.stem, content=path.read_bytes(),
                                   content_type=CONTENT_TYPES[path.suffix.lower()])
            document.metadata.update({"file": path.name})
            documents.append(document)
    return documents


def load_queries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shipped(folder: Path = SHIPPED) -> EvalSet:
    return EvalSet("shipped", corpus_documents(folder / "corpus"), load_queries(folder / "queries.jsonl"))


def _insuranceqa_file(name: str) -> dict:
    with gzip.open(resources.files("insuranceqa_data").joinpath(name).open("rb")) as raw:
        return json.loads(raw.read())


def insuranceqa(language: str, questions: int, answers: int) -> EvalSet:
    """language "en" or "zh"; the first `questions` test questions, at least their answers."""
    pool = _insuranceqa_file("answers.json.gz")
    test = _insuranceqa_file("test.json.gz")
    asked = [test[key] for key in sorted(test, key=int)[:questions]]
    chosen = list(dict.fromkeys(a for q in asked for a in q["answers"]))
    for answer_id in sorted(pool, key=int):
        if len(chosen) >= answers:
            break
        if answer_id not in chosen:
            chosen.append(answer_id)
    documents = [pb.Document(document_id=f"a{a}", content=pool[a][language].strip().encode(),
                             content_type="text/plain") for a in chosen]
    queries = [{"query": " ".join(q[language].split()), "relevant": [f"a{a}" for a in q["answers"]]}
               for q in asked]
    return EvalSet(f"insuranceqa-{language}", documents, queries)


def load(name: str, questions: int = 200, answers: int = 2000) -> EvalSet:
    if name == "shipped":
        return shipped()
    if name in INSURANCEQA:
        return insuranceqa(name.rsplit("-", 1)[1], questions, answers)
    raise ValueError(f"unknown evaluation set {name!r}; one of {', '.join(NAMES)}")
