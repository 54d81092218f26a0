"""All configuration in one typed object: CLI flag, then ``RAG_*`` variable, then default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CORPUS = Path(__file__).parent / "corpus" / "sternik-interview-2016.txt"


class Settings(BaseSettings):
    """Settings read from ``RAG_*`` environment variables and an optional ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Folder for the embedded store.")
    collection: str = Field(
        "documents",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$",
        description="Chroma collection name (3-512 of A-Z a-z 0-9 . _ -).",
    )
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded.")
    chroma_port: int = Field(8000, description="Chroma server port.")
    embedding_provider: Literal["onnx", "openai"] = Field(
        "onnx", description="'onnx' (bundled, offline) or 'openai'."
    )
    embedding_model: str = Field("", description="Model name; empty = the provider's default.")
    embedding_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint for embeddings (provider 'openai')."
    )
    chunk_size: int = Field(600, ge=100, le=8000, description="Target chunk length (chars).")
    chunk_overlap: int = Field(100, ge=0, description="Overlap between split chunks (chars).")
    k: int = Field(4, ge=1, le=100, description="Passages a search returns.")
    answer_k: int = Field(
        6, ge=1, le=100, description="Passages an answerer reads (it cites only those it uses)."
    )
    answerer: Literal["auto", "extractive", "openai"] = Field(
        "auto", description="'auto': an LLM when one is configured, else extractive."
    )
    llm_model: str = Field("gpt-4.1-mini", description="Chat model for the generative answerer.")
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible chat endpoint (llama.cpp, vLLM, Ollama...)."
    )
    llm_timeout: float = Field(30.0, gt=0, description="Seconds before an LLM call gives up.")
    llm_max_tokens: int = Field(
        400, ge=16, le=32768, description="Longest reply the LLM may write (tokens)."
    )
    llm_max_retries: int = Field(1, ge=0, le=10, description="Retries after an LLM failure.")
    max_question_chars: int = Field(2000, ge=10, description="Longest accepted question.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Other web origins whose pages may call the API (CORS) and frame the chat; "
        "empty = same origin.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the server answers to besides loopback ones and the address it "
        "listens on ('*.example.com' for subdomains); guards against DNS rebinding.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For is believed; empty = "
        "none, every client is the address that connected.",
    )
    rate_limit_per_minute: int = Field(
        60, ge=0, description="Questions per minute per client address; 0 = unlimited."
    )
    api_threads: int = Field(
        32, ge=1, le=512, description="REST requests answered at once (the rest wait their turn)."
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes answering offline questions for 'rag serve' (one Python process "
        "uses about one core); no effect with an LLM answerer, whose answers wait on the model.",
    )
    allow_upload: bool = Field(True, description="Let chat users add documents.")
    max_upload_mb: int = Field(20, ge=1, le=1024, description="Largest accepted upload.")
    read_timeout: float = Field(
        120.0,
        gt=0,
        description="Seconds an HTML or PDF file may take to read (in a child process) before "
        "it is refused.",
    )
    api_key: SecretStr | None = Field(
        None, description="When set, the API, the widget and the chat page need this key."
    )
    admin_token: SecretStr | None = Field(
        None, description="Needed to add documents; without it, uploads work on loopback only."
    )
    public: bool = Field(
        False,
        description="Reachable by anyone (e.g. behind a proxy): uploads need RAG_ADMIN_TOKEN. "
        "Implied when serving on a non-loopback address.",
    )
    feedback: bool = Field(
        True, description="Keep served answers and users' ratings (DATA_DIR/feedback.sqlite3)."
    )
    feedback_url: str = Field(
        "",
        pattern=r"^$|^postgres(ql)?://",
        description="A PostgreSQL URL for the ratings, shared by several servers; empty = SQLite.",
    )

    @property
    def llm_configured(self) -> bool:
        """Whether an LLM endpoint is set up (an API key, or a base URL of a local server)."""
        return bool(self.llm_base_url or os.environ.get("OPENAI_API_KEY"))

    @property
    def offline(self) -> bool:
        """Whether the extractive answerer answers (no LLM chosen or configured)."""
        if self.answerer == "auto":
            return not self.llm_configured
        return self.answerer == "extractive"

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("RAG_CHUNK_OVERLAP must be smaller than RAG_CHUNK_SIZE")
        if not self.embedding_model:
            self.embedding_model = DEFAULT_EMBEDDING_MODELS[self.embedding_provider]
            self._model_chosen = False
        return self

    _model_chosen: bool = PrivateAttr(True)

    @property
    def embedding_chosen(self) -> bool:
        """Whether the embedding model was set rather than defaulted.

        A default yields to the model an existing collection was built with, so upgrading
        never strands a store.
        """
        return self._model_chosen or "embedding_provider" in self.model_fields_set

    @property
    def chroma_path(self) -> Path:
        """Where the embedded Chroma store lives."""
        return self.data_dir / "chroma"

    @property
    def keywords_path(self) -> Path:
        """Where the collection's keyword index is kept.

        Servers sharing a Chroma server share it by sharing the data folder; otherwise each
        rebuilds its own after another's ingest.
        """
        return self.data_dir / "keywords" / self.collection

    @property
    def feedback_path(self) -> Path:
        """Where served answers and their ratings are kept."""
        return self.data_dir / "feedback.sqlite3"


DEFAULT_EMBEDDING_MODELS = {
    "onnx": "multilingual-e5-small-q4",
    "openai": "text-embedding-3-small",
}
