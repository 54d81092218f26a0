// The chat page's behaviour beyond Gradio's: citations open their source (beside the
// conversation on wide screens, under the answer on narrow ones) with the supporting sentence
// scrolled into view; Copy gives plain text; thumbs and citation verdicts go to /api/feedback;
// a question the server never received is kept, with a line saying so.
(function () {
  "use strict";

  function closest(event, selector) {
    return event.target && event.target.closest ? event.target.closest(selector) : null;
  }

  // Scrolls the marked sentence into view inside the box that scrolls it.
  function reveal(container) {
    var context = container.querySelector(".rag-context");
    var mark = context && context.querySelector("mark");
    if (!mark) return;
    var offset = mark.getBoundingClientRect().top - context.getBoundingClientRect().top;
    context.scrollTop = Math.max(0, context.scrollTop + offset - context.clientHeight / 4);
  }

  // The side panel, when the layout shows it (wide screens), else null.
  function sidePanel() {
    var column = document.getElementById("rag-side-col");
    var panel = document.getElementById("rag-side");
    if (!column || !panel || getComputedStyle(column).display === "none") return null;
    return panel.querySelector(".prose") || panel;
  }

  function showBeside(panel, source) {
    var copy = document.createElement("section");
    copy.className = "rag-side-source";
    copy.setAttribute("aria-label", "Source");
    var head = document.createElement("h2");
    head.className = "rag-side-title";
    var summary = source.querySelector("summary");
    var number = summary && summary.querySelector(".rag-n");
    var title = summary && summary.querySelector(".rag-title");
    head.textContent = ((number ? number.textContent + " " : "") + (title ? title.textContent : "")).trim();
    copy.appendChild(head);
    source.querySelectorAll(".rag-context, .rag-where, .rag-rate").forEach(function (node) {
      var clone = node.cloneNode(true);
      if (clone.id) clone.id = "side-" + clone.id; // ids stay unique; the rating reads it
      copy.appendChild(clone);
    });
    panel.replaceChildren(copy);
    reveal(copy);
    var context = copy.querySelector(".rag-context");
    if (context) context.focus({ preventScroll: true });
  }

  document.addEventListener("click", function (event) {
    var link = closest(event, "a.rag-cite");
    if (!link) return;
    var id = (link.getAttribute("href") || "").slice(1);
    var source = id && document.getElementById(id);
    if (!source) return;
    event.preventDefault();
    var panel = sidePanel();
    if (panel) {
      showBeside(panel, source);
      return;
    }
    source.open = true;
    source.scrollIntoView({ block: "nearest" });
    reveal(source);
    source.classList.add("rag-flash");
    setTimeout(function () { source.classList.remove("rag-flash"); }, 1500);
  });

  // A source opened by its summary also shows its sentence.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details && details.matches && details.matches("details.rag-source, details.rag-closest") && details.open) {
      reveal(details);
    }
  }, true);

  function feedback(body) {
    return fetch(new URL("api/feedback", document.baseURI), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (result) {
        if (!response.ok) throw new Error(result.error || response.statusText);
      });
    });
  }

  function status(box, text) {
    var line = box.querySelector(".rag-rate-status");
    if (!line) {
      line = document.createElement("span");
      line.className = "rag-rate-status";
      line.setAttribute("role", "status");
      box.appendChild(line);
    }
    line.textContent = text;
  }

  // A source's "Supports the claim" / "Does not support the claim" rate that citation; a
  // second click on the pressed button takes the rating back.
  document.addEventListener("click", function (event) {
    var button = closest(event, "button.rag-rate-btn");
    var box = button && button.closest(".rag-rate");
    if (!box) return;
    event.preventDefault();
    // The box's id is [side-]rag-rate-ANSWERID-N; the rating is the button's class.
    var target = /^(?:side-)?rag-rate-([0-9a-f]+)-(\d+)$/.exec(box.id || "");
    if (!target) return;
    var pressed = button.getAttribute("aria-pressed") === "true";
    var chosen = button.classList.contains("rag-rate-supports") ? "supports" : "unsupported";
    feedback({ answer_id: target[1], citation: parseInt(target[2], 10), rating: pressed ? "cleared" : chosen })
      .then(function () {
        box.querySelectorAll("button.rag-rate-btn").forEach(function (b) {
          b.setAttribute("aria-pressed", b === button && !pressed ? "true" : "false");
        });
        status(box, pressed ? "" : "Thanks, noted.");
      })
      .catch(function (error) { status(box, "Not saved: " + error.message); });
  });

  function answerId(actions) {
    var found = /^rag-act-([0-9a-f]+)$/.exec(actions.id || "");
    return found ? found[1] : null;
  }

  // Thumbs on the whole answer; thumbs down asks, optionally, why.
  document.addEventListener("click", function (event) {
    var button = closest(event, "button.rag-vote");
    var actions = button && button.closest(".rag-actions");
    var id = actions && answerId(actions);
    if (!id) return;
    event.preventDefault();
    var pressed = button.getAttribute("aria-pressed") === "true";
    var down = button.classList.contains("rag-vote-down");
    var rating = pressed ? "cleared" : down ? "not_helpful" : "helpful";
    feedback({ answer_id: id, rating: rating })
      .then(function () {
        actions.querySelectorAll("button.rag-vote").forEach(function (b) {
          b.setAttribute("aria-pressed", b === button && !pressed ? "true" : "false");
        });
        var form = actions.querySelector("form.rag-reason");
        if (form) form.remove();
        if (down && !pressed) askWhy(actions, id);
        status(actions, pressed ? "" : "Thanks, noted.");
      })
      .catch(function (error) { status(actions, "Not saved: " + error.message); });
  });

  function askWhy(actions, id) {
    var form = document.createElement("form");
    form.className = "rag-reason";
    var label = document.createElement("label");
    label.textContent = "What was wrong? (optional) ";
    var input = document.createElement("input");
    input.type = "text";
    input.maxLength = 300;
    input.name = "reason";
    label.appendChild(input);
    var send = document.createElement("button");
    send.type = "submit";
    send.textContent = "Send";
    form.append(label, send);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var reason = input.value.trim();
      if (!reason) { form.remove(); return; }
      feedback({ answer_id: id, rating: "not_helpful", comment: reason })
        .then(function () { form.remove(); status(actions, "Thanks, noted with your reason."); })
        .catch(function (error) { status(actions, "Not saved: " + error.message); });
    });
    actions.appendChild(form);
    input.focus();
  }

  // Copy: the answer as plain text with its [n] markers, then the numbered sources.
  function plainAnswer(actions) {
    var message = actions.parentElement;
    var answer = message.querySelector(".rag-answer");
    var lines = [answer ? answer.textContent.trim() : ""];
    var notice = message.querySelector(".rag-notice");
    if (notice) lines.push("", "Note: " + notice.textContent.trim());
    var sources = message.querySelectorAll("details.rag-source");
    if (sources.length) lines.push("", "Sources:");
    sources.forEach(function (source) {
      var number = source.querySelector(".rag-n");
      var title = source.querySelector(".rag-title");
      var mark = source.querySelector("mark");
      var quote = (mark || source.querySelector(".rag-passage") || source).textContent;
      lines.push((number ? number.textContent + " " : "") + (title ? title.textContent : "") +
        ": “" + quote.replace(/\s+/g, " ").trim() + "”");
    });
    return lines.join("\n");
  }

  function writeClipboard(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) { // plain http on another host
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var done = document.execCommand("copy");
      area.remove();
      (done ? resolve : reject)(new Error("copy was refused"));
    });
  }

  document.addEventListener("click", function (event) {
    var button = closest(event, "button.rag-copy");
    var actions = button && button.closest(".rag-actions");
    if (!actions) return;
    event.preventDefault();
    writeClipboard(plainAnswer(actions))
      .then(function () { button.textContent = "Copied"; })
      .catch(function () { button.textContent = "Copy failed"; })
      .then(function () { setTimeout(function () { button.textContent = "Copy"; }, 2000); });
  });

  // "New chat" also empties the side panel.
  document.addEventListener("click", function (event) {
    var panel = closest(event, "#rag-new") && sidePanel();
    if (!panel || !panel.querySelector(".rag-side-source")) return;
    var hint = document.createElement("div");
    hint.className = "rag-side-empty";
    hint.textContent = "Click a citation such as [1] to read its source here.";
    panel.replaceChildren(hint);
  });

  // A question the server never received (network down, server restarting) is not lost: it
  // goes back into the box, and a line in the conversation says what happened.
  var typed = "";
  function questionBox() {
    return document.querySelector("#rag-question textarea, #rag-question input");
  }
  document.addEventListener("keydown", function (event) {
    var box = questionBox();
    if (box && event.target === box && event.key === "Enter" && !event.shiftKey) typed = box.value;
  }, true);
  document.addEventListener("click", function (event) {
    var box = questionBox();
    if (box && closest(event, "#rag-send")) typed = box.value;
  }, true);

  function networkLine(text) {
    var line = document.getElementById("rag-network");
    var chat = document.getElementById("rag-chat");
    if (!line && chat && text) {
      line = document.createElement("div");
      line.id = "rag-network";
      line.className = "rag-warning";
      line.setAttribute("role", "alert");
      chat.insertAdjacentElement("afterend", line);
    }
    if (!line) return;
    line.textContent = text;
    line.hidden = !text;
  }

  // The empty chat's example questions ask themselves.
  document.addEventListener("click", function (event) {
    var example = closest(event, "button.rag-example");
    var box = example && questionBox();
    var ask = document.getElementById("rag-send");
    if (!box || !ask) return;
    box.value = example.textContent;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(function () { ask.click(); }, 0);
  });

  // Gradio names each message by its raw content, which for an answer is its HTML source:
  // screen readers would read out the markup. Without the label they read the message itself.
  new MutationObserver(function () {
    document.querySelectorAll("#rag-chat [data-testid][aria-label]").forEach(function (node) {
      node.removeAttribute("aria-label");
    });
  }).observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"] });

  // Gradio rebuilds the page after a lost connection, emptying the box: the unsent question
  // waits in sessionStorage and goes back into each new box until a question gets through.
  var UNSENT = "rag-unsent";
  var lastBox = null;
  function restoreUnsent() {
    var box = questionBox();
    if (!box || box === lastBox) return;
    lastBox = box;
    var question = sessionStorage.getItem(UNSENT);
    if (!question) return;
    if (!box.value) {
      box.value = question;
      box.dispatchEvent(new Event("input", { bubbles: true }));
    }
    networkLine(LOST);
  }
  new MutationObserver(restoreUnsent).observe(document.documentElement, { subtree: true, childList: true });

  var LOST = "⚠ The server could not be reached, so nothing was asked. Your question is back in the box: press Ask to try again.";
  var send = window.fetch;
  window.fetch = function (input) {
    var url = typeof input === "string" ? input : input && input.url ? input.url : String(input);
    var pending = send.apply(this, arguments);
    if (url.indexOf("/queue/join") === -1) return pending;
    var question = typed; // the first join after Enter or Ask carries the question
    typed = "";
    return pending.then(function (response) {
      if (response.ok && question) {
        sessionStorage.removeItem(UNSENT);
        networkLine("");
      }
      return response;
    }, function (error) {
      if (question) {
        sessionStorage.setItem(UNSENT, question);
        lastBox = null;
        restoreUnsent();
      }
      throw error;
    });
  };
})();
