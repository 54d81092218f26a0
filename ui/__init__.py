"""What a person, a program or a web site talks to: the command, the chat, widget and API.

Uses ``rag`` (the library) and ``ingest``; neither of those imports anything from here.
"""
