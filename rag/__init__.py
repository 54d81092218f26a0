"""Question answering over documents with checkable citations.

Importing the package switches off the telemetry of the libraries it uses, before any of
them is imported: the app must make no network call it does not need.
"""

import os

for _name, _value in (
    ("ORT_DISABLE_TELEMETRY", "1"),
    ("ANONYMIZED_TELEMETRY", "False"),
    ("GRADIO_ANALYTICS_ENABLED", "False"),
    ("HF_HUB_OFFLINE", "1"),
):
    os.environ.setdefault(_name, _value)
