"""llama.cpp's own OpenAI-protocol HTTP server, from the prebuilt ``xllamacpp`` wheel.

Usage: python tests/llm_server.py MODEL.gguf PORT. Serves on 127.0.0.1 until terminated;
the model answers to any name (the tests call it "smollm2").
"""

import signal
import sys
import threading

import xllamacpp


def main() -> None:
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
