"""The chat page (Gradio 6): streamed answers, clickable citations, ratings, uploads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer import AnswerChunk
from rag.errors import FeedbackError, QuestionError
from rag.retrieval.sources import passage_in_context
from ui.access import Access, presented_key
from ui.app import App
from ui.render import answer_html, plain

STATIC = Path(__file__).parent / "static"
EXAMPLES = [
    "How long is the Uzbek-Afghan border?",
    "How long is Tajikistan's border with Afghanistan?",
    "How many people from Russia and the CIS joined ISIS?",
    "What are Russia's red lines in Central Asia?",
]
CONCURRENCY = 8
# The chat's messages, the conversation turns, the question box, and answer ids by message.
Reply = tuple[list[dict[str, Any]], list[list[str]], str, dict[int, str]]


def build_chat(rag_app: App, access: Access) -> gr.Blocks:
    """The chat page; answering runs up to ``CONCURRENCY`` questions at once."""

    def respond(
        message: str,
        messages: list[dict[str, Any]],
        turns: list[list[str]],
        answer_ids: dict[int, str],
    ) -> Iterator[Reply]:
        messages = [*messages, {"role": "user", "content": plain(message)}]
        try:
            chunks = rag_app.stream(message, [(t[0], t[1]) for t in turns])
        except QuestionError as exc:
            warning = {"role": "assistant", "content": plain(f"⚠ {exc}")}
            yield [*messages, warning], turns, "", answer_ids
            return
        try:
            yield from _replies(message, messages, turns, answer_ids, chunks)
        except Exception as exc:
            outage = rag_app.outage(exc)
            if outage is None:
                raise
            warning = {"role": "assistant", "content": plain(f"⚠ {outage[0].upper()}{outage[1:]}.")}
            yield [*messages, warning], turns, "", answer_ids

    def _replies(
        message: str,
        messages: list[dict[str, Any]],
        turns: list[list[str]],
        answer_ids: dict[int, str],
        chunks: Iterator[AnswerChunk],
    ) -> Iterator[Reply]:
        text = ""
        for chunk in chunks:
            text = chunk.delta if chunk.restart else text + chunk.delta
            if chunk.answer is None:
                streamed = {"role": "assistant", "content": plain(text)}
                yield [*messages, streamed], turns, "", answer_ids
                continue
            answer = chunk.answer
            contexts = {
                c.chunk_id: ctx
                for c in (*answer.citations, *answer.related)
                if (ctx := passage_in_context(rag_app.store, c.chunk_id)) is not None
            }
            html = answer_html(answer, contexts, ratable=rag_app.feedback is not None)
            yield (
                [*messages, {"role": "assistant", "content": html}],
                [*turns, [message, answer.answer]],
                "",
                {**answer_ids, len(messages): answer.answer_id},
            )

    def rate(answer_ids: dict[int, str], liked: gr.LikeData) -> None:
        index = liked.index[0] if isinstance(liked.index, tuple) else liked.index
        answer_id = (answer_ids or {}).get(index)
        if answer_id is None:  # a warning, not an answer: nothing to rate
            return
        # Gradio sends True (thumb up), False (down) or "" when a thumb is clicked off again.
        rating = "helpful" if liked.liked is True else "not_helpful" if liked.liked is False else ""
        try:
            rag_app.rate(answer_id, rating or "cleared")
        except FeedbackError as exc:
            gr.Warning(str(exc))

    def upload(
        path: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> str:
        key = presented_key(request.headers, request.cookies)
        client = request.client.host if request.client else "unknown"
        refusal = access.upload_refusal(key, request.headers, client)
        if refusal:
            hint = "; sign in at /login with it" if access.admin_token is not None else ""
            return f"⚠ {refusal[0].upper()}{refusal[1:]}{hint}."
        if not path:
            return "Choose a file first."
        progress(0.2, desc="Reading and indexing")
        data = Path(path).read_bytes()
        result = rag_app.add_document(Path(path).name, data)
        if result.error:
            return f"⚠ {Path(result.path).name}: {result.error}"
        return (
            f"Added {Path(result.path).name}: {result.added} new passage(s), "
            f"{result.unchanged} already stored. Ask about it now."
        )

    with gr.Blocks(title="Ask the documents") as demo:
        gr.Markdown(
            "## Ask the documents\nEvery answer cites its sources: click a **[n]** to see the "
            "passage in its document, the supporting sentence highlighted."
        )
        turns = gr.State([])
        answer_ids = gr.State({})  # chat message index -> answer_id, for ratings
        chatbot = gr.Chatbot(
            elem_id="rag-chat",
            height=520,
            layout="panel",
            buttons=["copy"],
            # Messages are HTML built by ``answer_html`` with every document string escaped;
            # Markdown or LaTeX over them would turn a document's ![](url) into a fetched image
            # and its [text](url) into a live link.
            render_markdown=False,
            latex_delimiters=[],
            feedback_options=("Like", "Dislike") if rag_app.feedback else None,
        )
        with gr.Row():
            box = gr.Textbox(
                placeholder="Ask a question about the documents…",
                show_label=False,
                scale=8,
                elem_id="rag-question",
                max_length=rag_app.settings.max_question_chars,
            )
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-send")
            clear = gr.Button("Clear", scale=1, elem_id="rag-clear")
        gr.Examples(EXAMPLES, inputs=box)
        outputs = [chatbot, turns, box, answer_ids]
        for trigger in (box.submit, send.click):
            trigger(
                respond,
                [box, chatbot, turns, answer_ids],
                outputs,
                api_visibility="private",
                concurrency_limit=CONCURRENCY,
            )
        clear.click(lambda: ([], [], "", {}), None, outputs, api_visibility="private")
        chatbot.like(rate, answer_ids, None, api_visibility="private")
        if access.uploads_possible:
            with gr.Accordion("Add a document (.txt .md .html .pdf)", open=False):
                file = gr.File(
                    file_types=[".txt", ".md", ".html", ".htm", ".pdf"], elem_id="rag-upload"
                )
                status = gr.Markdown()
                gr.Button("Add to the documents", elem_id="rag-add").click(
                    upload, file, status, api_visibility="private"
                )

        def ask(question: str) -> dict[str, Any]:
            """Answer a question; returns the answer object (answer, citations, ...)."""
            try:
                return rag_app.ask(question).to_dict()
            except QuestionError as exc:
                raise gr.Error(str(exc)) from None

        gr.api(ask, api_name="ask", concurrency_limit=CONCURRENCY)  # type: ignore[attr-defined]
    blocks: gr.Blocks = demo
    return blocks


def page_assets() -> dict[str, str]:
    """CSS and the click handler, for ``mount_gradio_app``."""
    return {
        "css": (STATIC / "chat.css").read_text(),
        "head": f"<script>{(STATIC / 'chat.js').read_text()}</script>",
    }
