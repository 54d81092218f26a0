/* rag-cite chat widget: <script src="https://HOST/embed.js" data-title="..."></script>
 * Options, all data-* attributes on the tag, all optional (a bad value falls back to the default):
 *   data-title      the panel's title                          ("Ask the documents")
 *   data-color      primary colour, any CSS colour              (#1d4ed8); text on it is white
 *                   or black, whichever reads better
 *   data-greeting   the first assistant message, shown as text
 *   data-starters   starter questions: a JSON array of strings or "a|b|c"; clicking one asks it
 *   data-position   bottom-right (default), bottom-left, top-right, top-left (right/left too)
 *   data-open       "true" opens the panel on load (without taking the page's focus)
 *   data-label      the bubble's text (and accessible name); without it an icon
 *   data-key        the server's API key (RAG_API_KEY), sent with every call; it is visible in
 *                   the host page, so pair it with RAG_ALLOWED_ORIGINS
 * JS API: window.ragCite.open(), .close(), .ask(question). Events on document (bubbling,
 * composed): rag:open, rag:close, rag:answer (detail: the answer, as /api/ask returns it).
 * The panel lives in a shadow root, so neither page's styles leak into the other. Answers stream
 * from HOST's /api/ask/stream and keep their clickable citations.
 * Everything from the server or the tag is inserted as text, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__ragCiteWidget) return;
  window.__ragCiteWidget = true;
  var server = script.getAttribute("data-server") || new URL(script.src, location.href).origin;
  var history = [];
  var key = script.getAttribute("data-key");

  function warn(message) {
    if (window.console && console.warn) console.warn("rag-cite widget: " + message);
  }

  // Reads a data-* option as trimmed text, at most `max` characters; "" when absent.
  function option(name, max) {
    var value = script.getAttribute("data-" + name);
    return value === null ? "" : value.trim().slice(0, max);
  }

  var title = option("title", 120) || "Ask the documents";
  var greeting = option("greeting", 1000);
  var label = option("label", 60);
  var openOnLoad = option("open", 10).toLowerCase() === "true";

  var position = (function () {
    var value = option("position", 20).toLowerCase();
    var known = {
      "": "bottom-right", right: "bottom-right", left: "bottom-left", "bottom-right": "bottom-right",
      "bottom-left": "bottom-left", "top-right": "top-right", "top-left": "top-left",
    };
    if (Object.prototype.hasOwnProperty.call(known, value)) return known[value].split("-");
    warn("data-position " + JSON.stringify(value) + " is not one of bottom-right, bottom-left, top-right, top-left");
    return ["bottom", "right"];
  })();

  var starters = (function () {
    var value = option("starters", 4000);
    if (!value) return [];
    var list;
    if (value.charAt(0) === "[") {
      try {
        list = JSON.parse(value);
      } catch (e) {
        list = null;
      }
      if (!Array.isArray(list) || !list.every(function (s) { return typeof s === "string"; })) {
        warn("data-starters is neither a JSON array of strings nor a|b|c");
        return [];
      }
    } else {
      list = value.split("|");
    }
    return list
      .map(function (s) { return s.trim().slice(0, 300); })
      .filter(function (s) { return s; })
      .slice(0, 6);
  })();

  // Colours as [r, g, b] numbers (0-255); only numbers ever reach the stylesheet.
  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function css(rgb) {
    return "rgb(" + rgb.map(Math.round).join(",") + ")";
  }
  function parseRgb(text) {
    var m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(text);
    if (!m) return null;
    if (m[4] !== undefined && parseFloat(m[4]) < (m[4].slice(-1) === "%" ? 100 : 1)) return null;
    return [+m[1], +m[2], +m[3]].map(function (v) { return Math.min(255, Math.max(0, v)); });
  }
  // An opaque colour the browser itself resolved, or null. var()/env()/attr() would depend on
  // the host page, so they are refused like anything CSS.supports does not accept as a colour.
  function resolveColor(value, probe) {
    if (!value) return null;
    if (!(window.CSS && CSS.supports && CSS.supports("color", value)) ||
        /(var|env|attr)\s*\(|currentcolor|inherit|initial|unset|revert/i.test(value)) return null;
    probe.style.color = value;
    var rgb = parseRgb(getComputedStyle(probe).color);
    if (!rgb) {
      // Colour spaces the computed style keeps (lab(), oklch(), color()): the canvas converts.
      var ctx = document.createElement("canvas").getContext("2d");
      if (ctx) {
        ctx.fillStyle = "#000";
        ctx.fillStyle = value;
        var hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(ctx.fillStyle);
        if (hex) rgb = [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
      }
    }
    probe.style.color = "";
    return rgb;
  }

  function headers(json) {
    var h = json ? { "Content-Type": "application/json" } : {};
    if (key) h["X-API-Key"] = key;
    return h;
  }

  var host = document.createElement("div");
  host.setAttribute("data-rag-cite", "");
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });

  var WHITE = [255, 255, 255], BLACK = [0, 0, 0];
  var primary = [29, 78, 216]; // #1d4ed8
  var asked = option("color", 200);
  if (asked) {
    var probe = document.createElement("span");
    root.appendChild(probe);
    var resolved = resolveColor(asked, probe);
    root.removeChild(probe);
    if (resolved) primary = resolved;
    else warn("data-color " + JSON.stringify(asked) + " is not an opaque CSS colour");
  }
  // Text on the primary colour: white or black, whichever contrasts more (>= 4.5:1 either way).
  var onPrimary = contrast(primary, WHITE) >= contrast(primary, BLACK) ? WHITE : BLACK;
  // The primary colour as text or outline on white: darkened until it reads (>= 4.5:1).
  var ink = primary.slice();
  while (contrast(ink, WHITE) < 4.6) ink = ink.map(function (v) { return v * 0.9; });
  var tint = primary.map(function (v) { return 255 - (255 - v) * 0.16; }); // light background

  var V = position[0], H = position[1];
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',sans-serif}" +
    ".bubble{position:fixed;" + V + ":20px;" + H + ":20px;min-width:56px;height:56px;border-radius:28px;border:0;background:" + css(primary) + ";color:" + css(onPrimary) + ";cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000;display:flex;align-items:center;justify-content:center;gap:8px;padding:0 14px;font-size:15px;font-weight:600;max-width:calc(100vw - 40px)}" +
    ".bubble .label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}" +
    ".bubble .label:empty{display:none}" +
    ".bubble:focus-visible{outline:3px solid " + css(ink) + ";outline-offset:3px;box-shadow:0 0 0 3px #fff}" +
    ".panel{position:fixed;" + V + ":86px;" + H + ":20px;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 110px));background:#fff;color:#111827;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;z-index:2147483000;font-size:14px}" +
    ".panel[hidden]{display:none}" +
    ".head{background:" + css(primary) + ";color:" + css(onPrimary) + ";padding:6px 6px 6px 14px;font-weight:600;display:flex;justify-content:space-between;align-items:center;gap:8px}" +
    ".head h2{font-size:15px;margin:0;font-weight:600}" +
    ".head button{background:none;border:0;color:inherit;font-size:22px;line-height:1;cursor:pointer;width:40px;height:40px;border-radius:8px;flex:none}" +
    ".head button:focus-visible{outline:2px solid currentColor;outline-offset:-4px}" +
    "button:focus-visible,input:focus-visible,summary:focus-visible,.ctx:focus-visible{outline:2px solid " + css(ink) + ";outline-offset:2px}" +
    "input:focus{outline:2px solid " + css(ink) + ";outline-offset:1px}" +
    ".log{flex:1;overflow:auto;padding:10px;display:flex;flex-direction:column;gap:8px}" +
    ".msg{padding:8px 10px;border-radius:10px;line-height:1.45;white-space:pre-wrap;word-wrap:break-word;max-width:92%}" +
    ".user{align-self:flex-end;background:" + css(tint) + "}" +
    ".bot{align-self:flex-start;background:#f3f4f6}" +
    ".declined{background:#fff8e1;border-left:4px solid #f0b400}" +
    ".notice{font-size:12px;color:#4b5563;margin-top:6px}" +
    ".related-head{font-size:12px;font-weight:600;color:#4b5563;margin-top:8px}" +
    ".error{background:#fee2e2;color:#991b1b}" +
    ".starters{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}" +
    ".starter{border:1px solid " + css(ink) + ";background:#fff;color:" + css(ink) + ";border-radius:16px;padding:5px 12px;font-size:13px;cursor:pointer;text-align:left}" +
    ".starter:hover{background:" + css(tint) + "}" +
    "button.cite{border:0;background:none;color:" + css(ink) + ";font-weight:600;cursor:pointer;padding:0 1px;font-size:inherit;border-radius:3px}" +
    "button.cite:hover{background:" + css(tint) + "}" +
    "details{margin-top:6px;border:1px solid #e5e7eb;border-radius:6px;background:#fff;padding:4px 6px;white-space:normal}" +
    "details.flash{outline:2px solid " + css(ink) + "}" +
    "summary{cursor:pointer;font-size:13px}" +
    ".ctx{color:#4b5563;font-size:13px;margin-top:4px;white-space:pre-wrap;max-height:14em;overflow:auto}" +
    ".passage{color:#111827}" +
    "mark{background:#fde68a;color:#111827}" +
    ".rate{display:flex;gap:6px;flex-wrap:wrap;align-items:center;margin-top:6px;white-space:normal}" +
    ".rate button{font-size:12px;border:1px solid #d1d5db;border-radius:12px;background:#fff;color:#374151;padding:1px 8px;cursor:pointer}" +
    ".rate button[aria-pressed=true]{background:" + css(primary) + ";border-color:" + css(primary) + ";color:" + css(onPrimary) + "}" +
    ".rate .status{font-size:12px;color:#4b5563}" +
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb}" +
    "input{flex:1;min-width:0;padding:8px 10px;border:1px solid #6b7280;border-radius:8px;font-size:14px;color:#111827;background:#fff}" +
    "form button{padding:8px 12px;border:0;border-radius:8px;background:" + css(primary) + ";color:" + css(onPrimary) + ";cursor:pointer;font-size:14px}" +
    // Phones: the open panel takes the whole screen and the bubble steps aside.
    "@media (max-width:480px){" +
    ".panel{top:0;left:0;right:0;bottom:0;width:100vw;height:100vh;height:100dvh;border-radius:0;box-shadow:none}" +
    ".open .bubble{display:none}" +
    ".head button{width:44px;height:44px;font-size:26px}" +
    "input{font-size:16px}" + // below 16px iOS zooms in on focus
    "}" +
    "</style>" +
    '<div class="wrap">' +
    '<button class="bubble" type="button" aria-expanded="false" aria-controls="rag-cite-panel"><svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg><span class="label"></span></button>' +
    '<div class="panel" id="rag-cite-panel" hidden role="dialog" aria-labelledby="rag-cite-title">' +
    '<div class="head"><h2 class="title" id="rag-cite-title"></h2>' +
    '<button class="close" type="button" aria-label="Close the chat">×</button></div>' +
    '<div class="log" role="log" aria-live="polite"></div>' +
    '<form><input name="q" autocomplete="off" maxlength="2000" aria-label="Your question" placeholder="Ask a question…">' +
    '<button type="submit">Ask</button></form></div></div>';

  var wrap = root.querySelector(".wrap");
  var bubbleButton = root.querySelector(".bubble");
  var panel = root.querySelector(".panel");
  var log = root.querySelector(".log");
  var form = root.querySelector("form");
  var input = root.querySelector("input");
  root.querySelector(".title").textContent = title;
  if (label) root.querySelector(".bubble .label").textContent = label;
  else bubbleButton.setAttribute("aria-label", "Open the chat");
  var ratingsOn = true; // the server says on first opening whether it keeps ratings
  var refused = null; // why the server refuses this page, once it has said so
  var checked = false;
  var starterBox = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true, composed: true }));
  }

  function refuse(reason) {
    refused = "This site is not allowed to use this assistant (" + reason + ").";
    log.appendChild(el("div", "msg bot error", refused));
    input.disabled = true;
    form.querySelector("button").disabled = true;
  }

  function checkServer() {
    if (checked) return;
    checked = true;
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

  function isOpen() {
    return !panel.hidden;
  }

  function open(focus) {
    checkServer();
    if (isOpen()) {
      if (focus) input.focus();
      return;
    }
    panel.hidden = false;
    wrap.classList.add("open");
    bubbleButton.setAttribute("aria-expanded", "true");
    if (focus) input.focus();
    emit("rag:open", {});
  }

  function close(focus) {
    if (!isOpen()) return;
    // Focus inside the panel would be lost with it: it goes back to the bubble.
    focus = focus || panel.contains(root.activeElement);
    panel.hidden = true;
    wrap.classList.remove("open");
    bubbleButton.setAttribute("aria-expanded", "false");
    if (focus) bubbleButton.focus();
    emit("rag:close", {});
  }

  bubbleButton.addEventListener("click", function () {
    if (isOpen()) close(true);
    else open(true);
  });
  root.querySelector(".close").addEventListener("click", function () { close(true); });
  // Escape from anywhere in the widget (the panel or the bubble) closes the open panel.
  wrap.addEventListener("keydown", function (event) {
    if ((event.key === "Escape" || event.key === "Esc") && isOpen()) {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    }
  });

  // Scrolls `box` (a scrolling element) so that `node` is inside its visible area.
  function reveal(box, node, margin) {
    var b = box.getBoundingClientRect(), n = node.getBoundingClientRect();
    if (n.top < b.top + margin || n.height > b.height - 2 * margin) box.scrollTop += n.top - b.top - margin;
    else if (n.bottom > b.bottom - margin) box.scrollTop += n.bottom - b.bottom + margin;
  }

  // The source's highlighted sentence, scrolled into view inside its context box and the log.
  function revealSupport(details) {
    var box = details.querySelector(".ctx");
    if (!box || !details.open) return;
    var mark = box.querySelector("mark") || box.querySelector(".passage");
    box.scrollTop = 0;
    box.scrollTop = Math.max(0, mark.getBoundingClientRect().top - box.getBoundingClientRect().top - 24);
    reveal(log, details.querySelector("summary"), 8);
    reveal(log, mark, 8);
  }

  function passage(citation, name) {
    var box = el("div", "ctx");
    box.tabIndex = 0; // it scrolls, so keyboards must reach it
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", name);
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
        revealSupport(details);
      })
      .catch(function () {});
  }

  // A <details> source: its context is fetched on first opening, its sentence kept in view.
  function source(summaryText, citation, name) {
    var details = el("details");
    details.appendChild(el("summary", "", summaryText));
    details.appendChild(passage(citation, name));
    var fetched = false;
    details.addEventListener("toggle", function () {
      if (!details.open) return;
      revealSupport(details);
      if (!fetched) {
        fetched = true;
        addContext(details, citation);
      }
    });
    return details;
  }

  // Buttons that rate an answer (citation null) or one citation; a second click takes it back.
  function ratings(answerId, citation, choices) {
    var box = el("div", "rate");
    var status = el("span", "status");
    status.setAttribute("role", "status");
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

  var answers = 0; // numbers the sources' labels, unique in the log
  function render(bubble, answer) {
    answers += 1;
    bubble.textContent = "";
    if (!answer.answerable) bubble.classList.add("declined");
    var sources = {};
    var list = el("div", "sources");
    answer.citations.forEach(function (c) {
      var facts = [c.title || c.filename || c.source];
      if (c.date) facts.push(c.date);
      if (c.page) facts.push("page " + c.page);
      var details = source("[" + c.n + "] " + facts.join(" · "), c,
        "Source " + c.n + " of answer " + answers + " in its document");
      if (ratingsOn) {
        details.appendChild(ratings(answer.answer_id, c.n, [
          ["supports", "✓ Supports the claim"], ["unsupported", "✗ Does not support the claim"]]));
      }
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
          revealSupport(d);
          d.querySelector("summary").focus({ preventScroll: true });
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
      answer.related.forEach(function (c, i) {
        related.appendChild(source(c.title || c.filename || c.source, c,
          "Passage " + (i + 1) + " near answer " + answers + " in its document"));
      });
      bubble.appendChild(related);
    }
    if (ratingsOn) {
      bubble.appendChild(ratings(answer.answer_id, null, [["helpful", "✓ Helpful"], ["not_helpful", "✗ Not helpful"]]));
    }
  }

  function ask(question) {
    if (starterBox) {
      starterBox.remove();
      starterBox = null;
    }
    log.appendChild(el("div", "msg user", question));
    var bubble = el("div", "msg bot", "…");
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
    log.setAttribute("aria-busy", "true"); // announce the answer once, not every token
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
              else if (name === "answer") {
                render(bubble, payload);
                history.push([question, payload.answer]);
                emit("rag:answer", payload);
              }
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
      })
      .then(function () { log.setAttribute("aria-busy", "false"); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question) return;
    input.value = "";
    ask(question);
  });

  if (greeting) log.appendChild(el("div", "msg bot greeting", greeting));
  if (starters.length) {
    starterBox = el("div", "starters");
    starterBox.setAttribute("role", "group");
    starterBox.setAttribute("aria-label", "Suggested questions");
    starters.forEach(function (question) {
      var chip = el("button", "starter", question);
      chip.type = "button";
      chip.addEventListener("click", function () {
        if (input.disabled) return;
        ask(question);
        input.focus();
      });
      starterBox.appendChild(chip);
    });
    log.appendChild(starterBox);
  }

  window.ragCite = Object.freeze({
    open: function () { open(true); },
    close: function () { close(false); },
    ask: function (question) {
      var text = String(question === undefined || question === null ? "" : question).trim().slice(0, 2000);
      open(false);
      if (text && !input.disabled) ask(text);
    },
  });

  if (openOnLoad) open(false); // the page keeps its focus
})();
