/* rag-cite chat widget: <script src="https://HOST/embed.js" data-title="..." data-position="right"></script>
 * data-key="..." sends the server's API key (RAG_API_KEY) with every call; it is visible in the
 * host page, so pair it with RAG_ALLOWED_ORIGINS.
 * Adds a chat bubble; the panel lives in a shadow root, so neither page's styles leak into the
 * other. Answers stream from HOST's /api/ask/stream and keep their clickable citations.
 * Everything from the server is inserted as text, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__ragCiteWidget) return;
  window.__ragCiteWidget = true;
  var server = script.getAttribute("data-server") || new URL(script.src, location.href).origin;
  var title = script.getAttribute("data-title") || "Ask the documents";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var history = [];
  var key = script.getAttribute("data-key");

  function headers(json) {
    var h = json ? { "Content-Type": "application/json" } : {};
    if (key) h["X-API-Key"] = key;
    return h;
  }

  var host = document.createElement("div");
  host.setAttribute("data-rag-cite", "");
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',sans-serif}" +
    ".bubble{position:fixed;bottom:20px;" + side + ":20px;width:56px;height:56px;border-radius:50%;border:0;background:#1d4ed8;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000;display:flex;align-items:center;justify-content:center;padding:0}" +
    ".panel{position:fixed;bottom:86px;" + side + ":20px;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 110px));background:#fff;color:#111827;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;z-index:2147483000;font-size:14px}" +
    ".panel[hidden]{display:none}" +
    "header{background:#1d4ed8;color:#fff;padding:10px 14px;font-weight:600;display:flex;justify-content:space-between;align-items:center}" +
    "header button{background:none;border:0;color:#fff;font-size:20px;cursor:pointer}" +
    ".log{flex:1;overflow:auto;padding:10px;display:flex;flex-direction:column;gap:8px}" +
    ".msg{padding:8px 10px;border-radius:10px;line-height:1.45;white-space:pre-wrap;word-wrap:break-word;max-width:92%}" +
    ".user{align-self:flex-end;background:#dbeafe}" +
    ".bot{align-self:flex-start;background:#f3f4f6}" +
    ".declined{background:#fff8e1;border-left:4px solid #f0b400}" +
    ".notice{font-size:12px;color:#555;margin-top:6px}" +
    ".related-head{font-size:12px;font-weight:600;color:#6b7280;margin-top:8px}" +
    ".error{background:#fee2e2;color:#991b1b}" +
    "button.cite{border:0;background:none;color:#1d4ed8;font-weight:600;cursor:pointer;padding:0 1px;font-size:inherit}" +
    "button.cite:hover{background:#dbeafe;border-radius:3px}" +
    "details{margin-top:6px;border:1px solid #e5e7eb;border-radius:6px;background:#fff;padding:4px 6px;white-space:normal}" +
    "details.flash{outline:2px solid #60a5fa}" +
    "summary{cursor:pointer;font-size:13px}" +
    ".ctx{color:#6b7280;font-size:13px;margin-top:4px;white-space:pre-wrap;max-height:14em;overflow:auto}" +
    ".passage{color:#111827}" +
    "mark{background:#fde68a;color:#111827}" +
    ".rate{display:flex;gap:6px;flex-wrap:wrap;align-items:center;margin-top:6px;white-space:normal}" +
    ".rate button{font-size:12px;border:1px solid #d1d5db;border-radius:12px;background:#fff;color:#374151;padding:1px 8px;cursor:pointer}" +
    ".rate button[aria-pressed=true]{background:#1d4ed8;border-color:#1d4ed8;color:#fff}" +
    ".rate .status{font-size:12px;color:#6b7280}" +
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb}" +
    "input{flex:1;padding:8px 10px;border:1px solid #d1d5db;border-radius:8px;font-size:14px}" +
    "form button{padding:8px 12px;border:0;border-radius:8px;background:#1d4ed8;color:#fff;cursor:pointer}" +
    "</style>" +
    '<button class="bubble" aria-label="Open the chat"><svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">' +
    '<path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg></button>' +
    '<div class="panel" hidden role="dialog"><header><span class="title"></span>' +
    '<button class="close" aria-label="Close the chat">×</button></header>' +
    '<div class="log" role="log" aria-live="polite"></div>' +
    '<form><input name="q" autocomplete="off" maxlength="2000" placeholder="Ask a question…">' +
    '<button type="submit">Ask</button></form></div>';

  var panel = root.querySelector(".panel");
  var log = root.querySelector(".log");
  var form = root.querySelector("form");
  var input = root.querySelector("input");
  root.querySelector(".title").textContent = title;
  var ratingsOn = true; // the server says on first opening whether it keeps ratings
  var refused = null; // why the server refuses this page, once it has said so
  var asked = false;

  function refuse(reason) {
    refused = "This site is not allowed to use this assistant (" + reason + ").";
    log.appendChild(el("div", "msg bot error", refused));
    input.disabled = true;
    form.querySelector("button").disabled = true;
  }

  root.querySelector(".bubble").addEventListener("click", function () {
    if (!asked) {
      asked = true;
      // No custom headers: a simple request, so a refused page can still read why.
      fetch(server + "/api/health")
        .then(function (r) {
          return r.json().then(function (h) {
            if (r.status === 403) refuse(h.error || "refused by the server");
            else ratingsOn = h.feedback !== false;
          });
        })
        .catch(function () {});
    }
    panel.hidden = !panel.hidden;
    if (!panel.hidden) input.focus();
  });
  root.querySelector(".close").addEventListener("click", function () { panel.hidden = true; });

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function passage(citation) {
    var box = el("div", "ctx");
    var body = el("span", "passage");
    var s = citation.support;
    if (s) {
      // The server counts characters (code points); JavaScript strings count UTF-16 units,
      // so an emoji before the sentence would shift a plain slice.
      var chars = Array.from(citation.text);
      body.appendChild(document.createTextNode(chars.slice(0, s.start).join("")));
      body.appendChild(el("mark", "", s.text));
      body.appendChild(document.createTextNode(chars.slice(s.end).join("")));
    } else {
      body.textContent = citation.text;
    }
    box.appendChild(body);
    return box;
  }

  function addContext(details, citation) {
    fetch(server + "/api/sources/" + encodeURIComponent(citation.chunk_id), { headers: headers(false) })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (ctx) {
        if (!ctx) return;
        var box = details.querySelector(".ctx");
        var before = ctx.before.length > 300 ? "… " + ctx.before.slice(-300) : (ctx.starts_document ? "" : "… ") + ctx.before;
        box.insertBefore(document.createTextNode(before), box.firstChild);
        box.appendChild(document.createTextNode(ctx.after.slice(0, 300) + (ctx.after ? " …" : "")));
        var mark = box.querySelector("mark") || box.querySelector(".passage");
        box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - 24);
      })
      .catch(function () {});
  }

  // Buttons that rate an answer (citation null) or one citation; a second click takes it back.
  function ratings(answerId, citation, choices) {
    var box = el("div", "rate");
    var status = el("span", "status");
    var buttons = choices.map(function (choice) {
      var button = el("button", "", choice[1]);
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.setAttribute("data-rating", choice[0]);
      button.addEventListener("click", function () {
        var pressed = button.getAttribute("aria-pressed") === "true";
        var body = { answer_id: answerId, rating: pressed ? "cleared" : choice[0] };
        if (citation !== null) body.citation = citation;
        fetch(server + "/api/feedback", {
          method: "POST",
          headers: headers(true),
          body: JSON.stringify(body),
        })
          .then(function (r) {
            return r.json().then(function (b) { if (!r.ok) throw new Error(b.error || r.statusText); });
          })
          .then(function () {
            buttons.forEach(function (b) { b.setAttribute("aria-pressed", b === button && !pressed ? "true" : "false"); });
            status.textContent = pressed ? "" : "Thanks, noted.";
          })
          .catch(function (error) { status.textContent = "Not saved: " + error.message; });
      });
      box.appendChild(button);
      return button;
    });
    box.appendChild(status);
    return box;
  }

  function render(bubble, answer) {
    bubble.textContent = "";
    if (!answer.answerable) bubble.classList.add("declined");
    var sources = {};
    var list = el("div", "sources");
    answer.citations.forEach(function (c) {
      var details = el("details");
      var facts = [c.title || c.filename || c.source];
      if (c.date) facts.push(c.date);
      if (c.page) facts.push("page " + c.page);
      details.appendChild(el("summary", "", "[" + c.n + "] " + facts.join(" · ")));
      details.appendChild(passage(c));
      if (ratingsOn) {
        details.appendChild(ratings(answer.answer_id, c.n, [
          ["supports", "✓ Supports the claim"], ["unsupported", "✗ Does not support the claim"]]));
      }
      details.addEventListener("toggle", function once() {
        details.removeEventListener("toggle", once);
        addContext(details, c);
      });
      sources[c.n] = details;
      list.appendChild(details);
    });
    var parts = answer.answer.split(/(\[\d{1,3}\])/);
    parts.forEach(function (part) {
      var m = /^\[(\d{1,3})\]$/.exec(part);
      if (m && sources[m[1]]) {
        var cite = el("button", "cite", part);
        cite.type = "button";
        cite.setAttribute("aria-label", "Show source " + m[1]);
        cite.addEventListener("click", function () {
          var d = sources[m[1]];
          d.open = true;
          d.scrollIntoView({ behavior: "smooth", block: "nearest" });
          d.classList.add("flash");
          setTimeout(function () { d.classList.remove("flash"); }, 1500);
        });
        bubble.appendChild(cite);
      } else {
        bubble.appendChild(document.createTextNode(part));
      }
    });
    if (answer.notice) bubble.appendChild(el("div", "notice", answer.notice));
    bubble.appendChild(list);
    // A decline's closest passages: opened like sources, but no claim cites them.
    if ((answer.related || []).length) {
      var related = el("div", "sources related");
      related.appendChild(el("div", "related-head", "Closest passages"));
      answer.related.forEach(function (c) {
        var details = el("details");
        details.appendChild(el("summary", "", c.title || c.filename || c.source));
        details.appendChild(passage(c));
        details.addEventListener("toggle", function once() {
          details.removeEventListener("toggle", once);
          addContext(details, c);
        });
        related.appendChild(details);
      });
      bubble.appendChild(related);
    }
    if (ratingsOn) {
      bubble.appendChild(ratings(answer.answer_id, null, [["helpful", "✓ Helpful"], ["not_helpful", "✗ Not helpful"]]));
    }
  }

  function ask(question) {
    log.appendChild(el("div", "msg user", question));
    var bubble = el("div", "msg bot", "…");
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
    var text = "";
    fetch(server + "/api/ask/stream", {
      method: "POST",
      headers: headers(true),
      body: JSON.stringify({ question: question, history: history.slice(-5) }),
    })
      .then(function (response) {
        if (!response.ok) {
          return response.json().then(function (body) { throw new Error(body.error || response.statusText); });
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (step) {
            if (step.done) return;
            buffer += decoder.decode(step.value, { stream: true });
            var events = buffer.split("\n\n");
            buffer = events.pop();
            events.forEach(function (raw) {
              var name = "message", data = "";
              raw.split("\n").forEach(function (line) {
                if (line.indexOf("event: ") === 0) name = line.slice(7);
                else if (line.indexOf("data: ") === 0) data += line.slice(6);
              });
              var payload = data ? JSON.parse(data) : {};
              if (name === "token") { text += payload.text; bubble.textContent = text; }
              else if (name === "restart") { text = ""; bubble.textContent = "…"; }
              else if (name === "answer") { render(bubble, payload); history.push([question, payload.answer]); }
              else if (name === "error") { throw new Error(payload.error); }
            });
            log.scrollTop = log.scrollHeight;
            return pump();
          });
        }
        return pump();
      })
      .catch(function (error) {
        bubble.className = "msg bot error";
        bubble.textContent = refused || "Sorry: " + error.message;
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question) return;
    input.value = "";
    ask(question);
  });
})();
