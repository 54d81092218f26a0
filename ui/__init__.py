"""What a person or a web site talks to: the chat page, the widget and the REST API.

Empty until the chat lands; the package exists so the layout (rag/, ingest/, ui/) is fixed.
"""
